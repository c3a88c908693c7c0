package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"dispo/adapters/httpapi"
	"dispo/domain"

	"github.com/gorilla/mux"
)

// walkedRoute is a route of the router with a request that reaches it.
type walkedRoute struct {
	route   *mux.Route
	name    string // method and template
	method  string
	path    string
	params  []string
	decl    bool
	hasBody bool
}

// walkRoutes lists every route of the server with a method and a path that
// the router sends to that very route (checked), so that a route added
// later is walked too.
func walkRoutes(t *testing.T, e *env) []walkedRoute {
	t.Helper()
	router := httpapi.Router(e.api)
	sample := map[string]string{"id": "77-EG-01", "department": "77"}
	var out []walkedRoute
	err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if route.GetHandler() == nil {
			return nil // a subrouter's prefix
		}
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		path := tpl
		for k, v := range sample {
			path = strings.ReplaceAll(path, "{"+k+"}", v)
		}
		if strings.Contains(path, "{") {
			return fmt.Errorf("route %s: no sample value for its variables", tpl)
		}
		methods, err := route.GetMethods()
		if err != nil {
			return fmt.Errorf("route %s declares no method: %v", tpl, err)
		}
		params, decl := httpapi.Declared(e.api, route)
		for _, m := range methods {
			req := httptest.NewRequest(m, path, nil)
			var match mux.RouteMatch
			if !router.Match(req, &match) || match.Route != route {
				return fmt.Errorf("%s %s does not reach the route %s", m, path, tpl)
			}
			out = append(out, walkedRoute{route: route, name: m + " " + tpl, method: m, path: path, params: params, decl: decl,
				hasBody: m == http.MethodPost || m == http.MethodPut})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("walked %d routes: the walk missed some", len(out))
	}
	return out
}

// Every route refuses a query parameter it does not declare, and a
// declared one given twice, with a 400 problem naming the parameter, and
// appends nothing; one it declares is not refused as unknown. A route
// registered without a declaration fails here.
func TestEveryRouteRefusesUnknownAndRepeatedParameters(t *testing.T) {
	e := newEnv(t)
	admin := e.login(domain.RoleAdmin)
	for _, wr := range walkRoutes(t, e) {
		t.Run(wr.name, func(t *testing.T) {
			if !wr.decl {
				t.Fatal("registered without a declaration of its query parameters: use Server.handle")
			}
			send := func(query string) response {
				q := badReq{method: wr.method, path: wr.path + "?" + query}
				if wr.hasBody {
					q.body = `{}`
				}
				before := e.head()
				res := badSend(t, admin, q)
				if after := e.head(); after != before {
					t.Fatalf("?%s: answered %d and the head moved %d -> %d", query, res.status, before, after)
				}
				return res
			}
			check := func(query string, code, field string) {
				t.Helper()
				res := send(query)
				if wr.method == http.MethodHead {
					if res.status != http.StatusBadRequest {
						t.Fatalf("HEAD ?%s: got %d, want 400", query, res.status)
					}
					return
				}
				res.problem(t, http.StatusBadRequest, code)
				if res.json["field"] != field {
					t.Fatalf("?%s: field %v, want %q: %s", query, res.json["field"], field, res.body)
				}
			}
			check("zz_unknown=1", "unknown_parameter", "zz_unknown")
			check("Min_Position=1", "unknown_parameter", "Min_Position") // names match exactly
			for _, p := range wr.params {
				check(p+"=1&"+p+"=1", "repeated_parameter", p)
				check(p+"=1&zz_unknown=1&"+p+"=2", "repeated_parameter", p) // sorted: the first wrong name is reported
				if wr.method == http.MethodHead {
					continue
				}
				if res := send(p + "=1"); res.json["code"] == "unknown_parameter" || res.json["code"] == "repeated_parameter" {
					t.Fatalf("declared parameter %s refused: %s", p, res.body)
				}
			}
		})
	}
}

// The query strings the issue found ignored, and a bad escape that
// url.Query would drop.
func TestQueryParametersOnceIgnoredAreRefused(t *testing.T) {
	e := newEnv(t)
	cases := []badCase{}
	fields := []struct{ path, field string }{
		{"/api/v1/freshness/overdue?establishment=" + finessEG, "establishment"},
		{"/api/v1/freshness/overdue?type=udm", "type"},
		{"/api/v1/matrix?department=77", "department"},
		{"/api/v1/departments/77/rows?band=1h", "band"},
		{"/api/v1/units/77-EG-01/history?limit=1", "limit"},
		{"/api/v1/units/77-EG-01/history?min_position=1", "min_position"},
		{"/api/v1/units?bogus=1", "bogus"},
		{"/api/v1/units?Department=77", "Department"},
		{"/api/v1/units?department=77&page=2", "page"},
		{"/api/v1/matrix?" + strings.Repeat("x", 100<<10), strings.Repeat("x", 64) + "…"},
	}
	for _, q := range fields {
		cases = append(cases, badCase{name: q.path[:min(len(q.path), 60)], role: domain.RoleAdmin, req: badReq{method: "GET", path: q.path}, status: 400, code: "unknown_parameter"})
	}
	// Each names the parameter, a junk one cut short.
	admin := e.login(domain.RoleAdmin)
	for _, q := range fields {
		res := badSend(t, admin, badReq{method: "GET", path: q.path})
		if res.json["field"] != q.field || len(res.body) > 1024 {
			t.Errorf("%.60s: field %.80v, want %.80q; %d bytes", q.path, res.json["field"], q.field, len(res.body))
		}
	}
	cases = append(cases,
		badCase{name: "bad escape", role: domain.RoleAdmin, req: badReq{method: "GET", path: "/api/v1/matrix?min_position=%zz"}, status: 400, code: "malformed_query"},
		badCase{name: "semicolon", role: domain.RoleAdmin, req: badReq{method: "GET", path: "/api/v1/matrix?min_position=1;a=b"}, status: 400, code: "malformed_query"},
		badCase{name: "repeated department on units", role: domain.RoleAdmin, req: badReq{method: "GET", path: "/api/v1/units?department=77&department=75"}, status: 400, code: "repeated_parameter"},
	)
	badRun(t, e, cases)
}

// Rendered answers are kept by canonical request within a byte budget:
// many spellings of one request are one entry, junk is none, and every
// valid combination of the detail's parameters stays within the budget.
func TestAnswerCacheStaysBounded(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleProfessionnel)
	get := func(path string, want int) {
		t.Helper()
		if res := c.do("GET", path, nil, nil); res.status != want {
			t.Fatalf("GET %s: %d, want %d: %s", path[:min(len(path), 80)], res.status, want, res.body[:min(len(res.body), 200)])
		}
	}
	head := e.head()
	for i := range 300 {
		get(fmt.Sprintf("/api/v1/matrix?min_position=%d", int(head)-i%int(head)), http.StatusOK)
		get(fmt.Sprintf("/api/v1/matrix?junk%d=%s", i, strings.Repeat("j", 4<<10)), http.StatusBadRequest)
		get(fmt.Sprintf("/api/v1/matrix?min_position=%d&min_position=%d", i, i), http.StatusBadRequest)
	}
	get("/api/v1/matrix", http.StatusOK)
	if n, _ := httpapi.CacheStats(e.api); n != 1 {
		t.Fatalf("%d entries after one request spelled 301 ways and 600 refused ones, want 1", n)
	}
	rows := []string{""}
	for _, ct := range domain.Categories {
		rows = append(rows, ct.Code)
	}
	for _, ut := range domain.UnitTypes {
		rows = append(rows, ut.Code)
	}
	var depts []string
	for n := 1; n <= 976; n++ {
		if d := fmt.Sprintf("%02d", n); domain.ValidDepartment(d) {
			depts = append(depts, d)
		}
	}
	depts = append(depts, "2A", "2B")
	for _, d := range depts {
		for _, row := range rows {
			get("/api/v1/departments/"+d+"/rows?row="+row, http.StatusOK)
		}
		get("/api/v1/departments/"+d+"/rows?row=nope", http.StatusBadRequest)
	}
	n, b := httpapi.CacheStats(e.api)
	// "" and "dialyse" (its default) are two spellings; both are bounded.
	if limit := 1 + len(depts)*len(rows); n > limit || b > httpapi.MaxCachedBytes {
		t.Fatalf("%d entries of %d bytes, want at most %d within %d", n, b, limit, httpapi.MaxCachedBytes)
	}
	if n < len(depts) {
		t.Fatalf("%d entries after %d distinct detail requests: the detail is not kept", n, len(depts)*len(rows))
	}
	// A write moves the position: the entries of the old one go.
	res := e.login(domain.RoleResponsable).do("POST", badDecl, map[string]any{"available": 2, "installed": 20}, nil)
	if res.status != http.StatusOK {
		t.Fatalf("declare: %d %s", res.status, res.body)
	}
	get(fmt.Sprintf("/api/v1/matrix?min_position=%d", e.head()), http.StatusOK)
	if n, _ := httpapi.CacheStats(e.api); n != 1 {
		t.Fatalf("%d entries after the position moved, want 1", n)
	}
	if !slices.Contains(depts, "976") {
		t.Fatal("the department list misses the overseas ones")
	}
}
