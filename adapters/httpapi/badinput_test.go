package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dispo/domain"
)

// Bad input: every refusal is an RFC 9457 problem with the right status and
// code, and leaves the log head where it was. Never a 5xx.

// badReq is a request sent byte for byte: the body as is, the Content-Type
// only as given, redirects not followed.
type badReq struct {
	method, path string
	body         string
	ctype        string // "" is application/json when there is a body; "-" is none
	header       map[string]string
}

// badSend sends q as c (its cookie and CSRF token, if any).
func badSend(t *testing.T, c *client, q badReq) response {
	t.Helper()
	var rd io.Reader
	if q.body != "" {
		rd = strings.NewReader(q.body)
	}
	req, err := http.NewRequest(q.method, c.e.url+q.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case q.ctype == "-":
	case q.ctype != "":
		req.Header.Set("Content-Type", q.ctype)
	case q.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range q.header {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Jar: c.http.Jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", q.method, q.path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, body: string(b)}
	json.Unmarshal(b, &r.json)
	return r
}

// badCase is a request and the problem it must get.
type badCase struct {
	name   string
	role   domain.Role // default responsable
	req    badReq
	status int
	code   string
}

const (
	badDecl    = "/api/v1/units/77-EG-01/declarations"
	badClosure = "/api/v1/units/77-EG-01/closure"
	badComment = "/api/v1/units/77-EG-01/comment"
)

func badPost(path, body string) badReq { return badReq{method: "POST", path: path, body: body} }
func badPut(path, body string) badReq  { return badReq{method: "PUT", path: path, body: body} }

// badRun runs the cases in one env: each must be refused as said and leave
// the head unchanged, so they cannot disturb one another.
func badRun(t *testing.T, e *env, cases []badCase) {
	t.Helper()
	clients := map[domain.Role]*client{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role := tc.role
			if role == "" {
				role = domain.RoleResponsable
			}
			c := clients[role]
			if c == nil {
				c = e.login(role)
				clients[role] = c
			}
			before := e.head()
			res := badSend(t, c, tc.req)
			res.problem(t, tc.status, tc.code)
			if after := e.head(); after != before {
				t.Fatalf("refused with %d but the head moved %d -> %d", res.status, before, after)
			}
			if res.json["instance"] == nil || res.json["detail"] == "" {
				t.Fatalf("problem without instance or detail: %s", res.body)
			}
		})
	}
}

func TestBadInputBodies(t *testing.T) {
	e := newEnv(t)
	decl := func(name, body string) badCase {
		return badCase{name: name, req: badPost(badDecl, body), status: 400, code: "invalid"}
	}
	long := strings.Repeat("é", domain.MaxCommentLen+1)
	cases := []badCase{
		// Not JSON, or not one JSON object.
		decl("malformed", `{"available":1,`),
		decl("missing comma", `{"available":1 "installed":20}`),
		decl("single quotes", `{'available':1,'installed':20}`),
		decl("bare word", `available=1&installed=20`),
		decl("empty body", ``+"\n"),
		{name: "no body at all", req: badReq{method: "POST", path: badDecl, ctype: "application/json"}, status: 400, code: "invalid"},
		decl("whitespace only", "  \n\t "),
		decl("null", `null`),
		decl("array", `[{"available":1,"installed":20}]`),
		decl("string", `"available"`),
		decl("number", `42`),
		decl("trailing data", `{"available":1,"installed":20} x`),
		decl("trailing brace", `{"available":1,"installed":20}}`),
		decl("trailing bracket", `{"available":1,"installed":20}]`),
		decl("two objects", `{"available":1,"installed":20} {"available":2,"installed":20}`),
		decl("two objects glued", `{"available":1,"installed":20}{}`),
		decl("object then null", `{"available":1,"installed":20} null`),
		decl("raw control byte in a string", "{\"available\":1,\"installed\":20,\"comment\":\"a\x01b\"}"),
		decl("bad escape", `{"available":1,"installed":20,"comment":"\x"}`),
		decl("unterminated string", `{"available":1,"installed":20,"comment":"abc}`),
		// Fields.
		{name: "unknown field", req: badPost(badDecl, `{"available":1,"installed":20,"bogus":1}`), status: 400, code: "unknown_field"},
		{name: "unknown nested field", req: badPost(badDecl, `{"available":1,"installed":20,"extra":{"a":1}}`), status: 400, code: "unknown_field"},
		decl("missing available", `{"installed":20}`),
		decl("missing installed", `{"available":0}`),
		decl("null available", `{"available":null,"installed":20}`),
		// Types: Go's decoder reads an integer field with strconv.ParseInt
		// on the literal, so 1.5, 1e2 (= 100) and 1.0 are type errors, not
		// rounded or converted; so is anything beyond int64.
		decl("string count", `{"available":"1","installed":20}`),
		decl("float count", `{"available":1.5,"installed":20}`),
		decl("exponent count", `{"available":1e2,"installed":200}`),
		decl("float with zero fraction", `{"available":1.0,"installed":20}`),
		decl("bool count", `{"available":true,"installed":20}`),
		decl("array count", `{"available":[1],"installed":20}`),
		decl("object count", `{"available":{},"installed":20}`),
		decl("count beyond int64", `{"available":1,"installed":99999999999999999999}`),
		decl("number comment", `{"available":1,"installed":20,"comment":5}`),
		// Values.
		decl("negative available", `{"available":-1,"installed":20}`),
		decl("negative installed", `{"available":0,"installed":-1}`),
		decl("negative closed", `{"available":0,"installed":20,"closed_places":-1}`),
		decl("available above installed", `{"available":21,"installed":20}`),
		decl("available above installed - closed", `{"available":20,"installed":20,"closed_places":1}`),
		decl("closed above installed", `{"available":0,"installed":5,"closed_places":6}`),
		decl("installed above the maximum", fmt.Sprintf(`{"available":0,"installed":%d}`, domain.MaxCount+1)),
		decl("unknown closing type", `{"available":0,"installed":20,"closed_places":2,"closing_type":"04"}`),
		decl("comment of 501 characters", `{"available":1,"installed":20,"comment":"`+long+`"}`),
		decl("comment with a control character", `{"available":1,"installed":20,"comment":"a\u0007b"}`),
		decl("comment with NUL", `{"available":1,"installed":20,"comment":"a\u0000b"}`),
		decl("comment with a newline", `{"available":1,"installed":20,"comment":"a\nb"}`),
		decl("comment of spaces", `{"available":1,"installed":20,"comment":"   "}`),
		// Size and media type.
		{name: "body over 64 KiB", req: badPost(badDecl, `{"available":1,"installed":20}`+strings.Repeat(" ", 64<<10)), status: 413, code: "too_large"},
		{name: "body of 100 KiB", req: badPost(badDecl, `{"available":1,"installed":20,"comment":"`+strings.Repeat("a", 100<<10)+`"}`), status: 413, code: "too_large"},
		{name: "no Content-Type", req: badReq{method: "POST", path: badDecl, body: `{"available":1,"installed":20}`, ctype: "-"}, status: 415, code: "unsupported_media_type"},
		{name: "text/plain", req: badReq{method: "POST", path: badDecl, body: `{"available":1,"installed":20}`, ctype: "text/plain"}, status: 415, code: "unsupported_media_type"},
		{name: "form", req: badReq{method: "POST", path: badDecl, body: `available=1&installed=20`, ctype: "application/x-www-form-urlencoded"}, status: 415, code: "unsupported_media_type"},
		{name: "multipart", req: badReq{method: "POST", path: badDecl, body: `{"available":1,"installed":20}`, ctype: "multipart/form-data; boundary=x"}, status: 415, code: "unsupported_media_type"},
		{name: "json suffix type", req: badReq{method: "POST", path: badDecl, body: `{"available":1,"installed":20}`, ctype: "application/merge-patch+json"}, status: 415, code: "unsupported_media_type"},
		{name: "malformed Content-Type", req: badReq{method: "POST", path: badDecl, body: `{"available":1,"installed":20}`, ctype: "application/json; charset"}, status: 415, code: "unsupported_media_type"},
		{name: "empty Content-Type", req: badReq{method: "POST", path: badDecl, body: `{"available":1,"installed":20}`, ctype: " "}, status: 415, code: "unsupported_media_type"},
		{name: "closure without Content-Type", req: badReq{method: "PUT", path: badClosure, body: `{"reason":"x"}`, ctype: "-"}, status: 415, code: "unsupported_media_type"},
		{name: "register as text", role: domain.RoleAdmin, req: badReq{method: "POST", path: "/api/v1/units", body: `{}`, ctype: "text/json"}, status: 415, code: "unsupported_media_type"},

		// Comments.
		{name: "set comment of 501 characters", req: badPut(badComment, `{"comment":"`+strings.Repeat("x", domain.MaxCommentLen+1)+`"}`), status: 400, code: "invalid"},
		{name: "set comment with a control character", req: badPut(badComment, `{"comment":"1 place\u001b[31m"}`), status: 400, code: "invalid"},
		{name: "set comment with DEL", req: badPut(badComment, `{"comment":"a\u007fb"}`), status: 400, code: "invalid"},
		{name: "set comment with C1 control", req: badPut(badComment, `{"comment":"a\u0085b"}`), status: 400, code: "invalid"},
		{name: "set comment without text", req: badPut(badComment, `{}`), status: 400, code: "invalid"},
		{name: "set comment null text", req: badPut(badComment, `{"comment":null}`), status: 400, code: "invalid"},
		{name: "set comment unknown field", req: badPut(badComment, `{"comment":"a","text":"b"}`), status: 400, code: "unknown_field"},
		{name: "set comment number", req: badPut(badComment, `{"comment":1}`), status: 400, code: "invalid"},

		// Closures.
		{name: "closure planned end before start", req: badPut(badClosure, `{"reason":"travaux","start":"2025-03-10T08:00:00Z","planned_end":"2025-03-09T08:00:00Z"}`), status: 400, code: "invalid"},
		{name: "closure planned end at start", req: badPut(badClosure, `{"reason":"travaux","start":"2025-03-10T08:00:00Z","planned_end":"2025-03-10T09:00:00+01:00"}`), status: 400, code: "invalid"},
		{name: "closure without reason", req: badPut(badClosure, `{"reopenable":true}`), status: 400, code: "invalid"},
		{name: "closure blank reason", req: badPut(badClosure, `{"reason":" \t "}`), status: 400, code: "invalid"},
		{name: "closure reason of 501 characters", req: badPut(badClosure, `{"reason":"`+strings.Repeat("r", domain.MaxReasonLen+1)+`"}`), status: 400, code: "invalid"},
		{name: "closure reason with a control character", req: badPut(badClosure, `{"reason":"a\tb"}`), status: 400, code: "invalid"},
		{name: "closure start not a time", req: badPut(badClosure, `{"reason":"x","start":"demain"}`), status: 400, code: "invalid"},
		{name: "closure start a date only", req: badPut(badClosure, `{"reason":"x","start":"2025-03-10"}`), status: 400, code: "invalid"},
		{name: "closure start a number", req: badPut(badClosure, `{"reason":"x","start":1741593600}`), status: 400, code: "invalid"},
		{name: "closure start before year 0 in UTC", req: badPut(badClosure, `{"reason":"x","start":"0000-01-01T00:00:00+01:00"}`), status: 400, code: "invalid"},
		{name: "closure end after year 9999 in UTC", req: badPut(badClosure, `{"reason":"x","start":"2025-03-10T08:00:00Z","planned_end":"9999-12-31T23:30:00-01:00"}`), status: 400, code: "invalid"},
		{name: "closure reopenable a string", req: badPut(badClosure, `{"reason":"x","reopenable":"yes"}`), status: 400, code: "invalid"},
		{name: "closure unknown field", req: badPut(badClosure, `{"reason":"x","until":"2025-03-10T08:00:00Z"}`), status: 400, code: "unknown_field"},
		{name: "closure trailing data", req: badPut(badClosure, `{"reason":"x"},`), status: 400, code: "invalid"},
		{name: "closure empty body", req: badReq{method: "PUT", path: badClosure, ctype: "application/json"}, status: 400, code: "invalid"},

		// Administration.
		{name: "pool empty", role: domain.RoleAdmin, req: badPut("/api/v1/units/77-EG-01/pool", `{"pool":""}`), status: 400, code: "invalid"},
		{name: "pool with a space", role: domain.RoleAdmin, req: badPut("/api/v1/units/77-EG-01/pool", `{"pool":"a b"}`), status: 400, code: "invalid"},
		{name: "pool missing", role: domain.RoleAdmin, req: badPut("/api/v1/units/77-EG-01/pool", `{}`), status: 400, code: "invalid"},
		{name: "register without unit_id", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`), status: 400, code: "invalid"},
		{name: "register bad FINESS", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"unit_id":"77-X","finess":"77011005","establishment":"EG","department":"77","type":"udm","name":"n"}`), status: 400, code: "invalid"},
		{name: "register unknown department", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"unit_id":"77-X","finess":"770110054","establishment":"EG","department":"99x","type":"udm","name":"n"}`), status: 400, code: "invalid"},
		{name: "register unknown type", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"unit_id":"77-X","finess":"770110054","establishment":"EG","department":"77","type":"dialyse_lunaire","name":"n"}`), status: 400, code: "invalid"},
		{name: "register 65-char id", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"unit_id":"`+strings.Repeat("a", 65)+`","finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`), status: 400, code: "invalid"},
		{name: "register id with a slash", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"unit_id":"77/X","finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`), status: 400, code: "invalid"},
		{name: "register bad phone", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"unit_id":"77-X","finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n","phone":"call me"}`), status: 400, code: "invalid"},
		{name: "register an existing unit", role: domain.RoleAdmin, req: badPost("/api/v1/units", `{"unit_id":"77-EG-01","finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`), status: 409, code: "conflict"},
		{name: "details with another unit_id", role: domain.RoleAdmin, req: badPut("/api/v1/units/77-EG-01", `{"unit_id":"77-EG-02","finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`), status: 400, code: "invalid"},
		{name: "details without name", role: domain.RoleAdmin, req: badPut("/api/v1/units/77-EG-01", `{"finess":"770110054","establishment":"EG","department":"77","type":"udm"}`), status: 400, code: "invalid"},

		// Login: the same wrong-content-type attempt, again and again, is a
		// 415 each time (checked further in TestBadInputLoginRepeated).
		{name: "login as form", role: domain.RoleProfessionnel, req: badReq{method: "POST", path: "/api/v1/session", body: "identifier=analyst&password=x", ctype: "application/x-www-form-urlencoded"}, status: 415, code: "unsupported_media_type"},
		{name: "login unknown field", role: domain.RoleProfessionnel, req: badPost("/api/v1/session", `{"identifier":"analyst","password":"x","remember":true}`), status: 400, code: "invalid"},
		{name: "login empty body", role: domain.RoleProfessionnel, req: badReq{method: "POST", path: "/api/v1/session", ctype: "application/json"}, status: 400, code: "invalid"},
	}
	badRun(t, e, cases)
}

// Requests the state refuses: an unknown unit, a closed unit, a change that
// contradicts the state.
func TestBadInputState(t *testing.T) {
	e := newEnv(t)
	resp := e.login(domain.RoleResponsable)
	if res := resp.do("PUT", "/api/v1/units/77-EG-03/closure", map[string]any{"reason": "travaux", "reopenable": true}, nil); res.status != http.StatusOK {
		t.Fatalf("close: %d %s", res.status, res.body)
	}
	if res := resp.do("PUT", "/api/v1/units/77-EG-04/closure", map[string]any{"reason": "fermeture définitive", "reopenable": false}, nil); res.status != http.StatusOK {
		t.Fatalf("close: %d %s", res.status, res.body)
	}
	valid := `{"available":1,"installed":20}`
	badRun(t, e, []badCase{
		{name: "declare on an unknown unit", req: badPost("/api/v1/units/77-EG-99/declarations", valid), status: 404, code: "not_found"},
		{name: "close an unknown unit", req: badPut("/api/v1/units/77-EG-99/closure", `{"reason":"x"}`), status: 404, code: "not_found"},
		{name: "reopen an unknown unit", req: badReq{method: "DELETE", path: "/api/v1/units/77-EG-99/closure"}, status: 404, code: "not_found"},
		{name: "clear the comment of an unknown unit", req: badReq{method: "DELETE", path: "/api/v1/units/77-EG-99/comment"}, status: 404, code: "not_found"},
		{name: "details of an unknown unit", role: domain.RoleAdmin, req: badPut("/api/v1/units/77-EG-99", `{"finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`), status: 404, code: "not_found"},
		{name: "pool an unknown unit", role: domain.RoleAdmin, req: badPut("/api/v1/units/77-EG-99/pool", `{"pool":"p"}`), status: 404, code: "not_found"},
		{name: "get an unknown unit", req: badReq{method: "GET", path: "/api/v1/units/77-EG-99"}, status: 404, code: "not_found"},
		{name: "declare on a closed unit", req: badPost("/api/v1/units/77-EG-03/declarations", `{"available":1,"installed":24}`), status: 409, code: "unit_closed"},
		{name: "declare with a comment on a closed unit", req: badPost("/api/v1/units/77-EG-03/declarations", `{"available":0,"installed":24,"comment":"x"}`), status: 409, code: "unit_closed"},
		{name: "declare on a unit closed for good", req: badPost("/api/v1/units/77-EG-04/declarations", `{"available":0,"installed":0}`), status: 409, code: "unit_closed"},
		{name: "close a closed unit", req: badPut("/api/v1/units/77-EG-03/closure", `{"reason":"x"}`), status: 409, code: "conflict"},
		{name: "reopen an open unit", req: badReq{method: "DELETE", path: "/api/v1/units/77-EG-01/closure"}, status: 409, code: "conflict"},
		{name: "reopen a unit closed for good", req: badReq{method: "DELETE", path: "/api/v1/units/77-EG-04/closure"}, status: 409, code: "conflict"},
		{name: "unpool a unit in no pool", role: domain.RoleAdmin, req: badReq{method: "DELETE", path: "/api/v1/units/77-EG-01/pool"}, status: 409, code: "conflict"},
		{name: "stale If-Match", req: badReq{method: "POST", path: badDecl, body: valid, header: map[string]string{"If-Match": `"1"`}}, status: 412, code: "precondition_failed"},
	})
}

func TestBadInputHeaders(t *testing.T) {
	e := newEnv(t)
	valid := `{"available":1,"installed":20}`
	with := func(k, v string) badReq {
		return badReq{method: "POST", path: badDecl, body: valid, header: map[string]string{k: v}}
	}
	cases := []badCase{}
	for _, v := range []string{"abc", `"abc"`, `"-2"`, `"1.5"`, `W/"x"`, `"99999999999999999999"`, `"2", "3"`, `"0x2"`, `""`} {
		cases = append(cases, badCase{name: "If-Match " + v, req: with("If-Match", v), status: 400, code: "invalid"})
	}
	for name, v := range map[string]string{
		"with a space":   "retry me",
		"with a tab":     "retry\tme",
		"of 201 bytes":   strings.Repeat("k", 201),
		"starting by $":  "$all",
		"not ASCII":      "clé-1",
		"of 10000 bytes": strings.Repeat("k", 10000),
	} {
		cases = append(cases, badCase{name: "Idempotency-Key " + name, req: with("Idempotency-Key", v), status: 400, code: "invalid"})
	}
	// The idempotency key is checked on every command route.
	cases = append(cases, badCase{name: "Idempotency-Key on a closure",
		req:    badReq{method: "PUT", path: badClosure, body: `{"reason":"x"}`, header: map[string]string{"Idempotency-Key": "a b"}},
		status: 400, code: "invalid"})
	badRun(t, e, cases)
}

func TestBadInputQueries(t *testing.T) {
	e := newEnv(t)
	get := func(path string) badReq { return badReq{method: "GET", path: path} }
	cases := []badCase{}
	for _, p := range []string{"/api/v1/matrix", "/api/v1/units", "/api/v1/units/77-EG-01", "/api/v1/freshness", "/api/v1/freshness/overdue", "/api/v1/departments/77/rows"} {
		for _, v := range []string{"-1", "abc", "1.5", "1e3", "18446744073709551616", "%20", "0x10"} {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			cases = append(cases, badCase{name: "min_position=" + v + " on " + p, role: domain.RoleProfessionnel,
				req: get(p + sep + "min_position=" + v), status: 400, code: "invalid"})
		}
	}
	for _, q := range []string{
		"/api/v1/units?department=99x",
		"/api/v1/units?department=7",
		"/api/v1/units?type=dialyse_lunaire",
		"/api/v1/units?establishment=12345",
		"/api/v1/units?establishment=77011005X",
		"/api/v1/units?band=2h",
		"/api/v1/units?band=1H",
		"/api/v1/units?band=over_24h",
		"/api/v1/units?band=%00",
		"/api/v1/departments/99x/rows",
		"/api/v1/departments/00/rows",
		"/api/v1/departments/2C/rows",
		"/api/v1/departments/977/rows",
		"/api/v1/departments/%C3%A9/rows",
		"/api/v1/departments/77/rows?row=nope",
		"/api/v1/departments/77/rows?row=%00",
		"/api/v1/freshness/overdue?department=99x",
		"/api/v1/units/a%00b",
		"/api/v1/units/" + strings.Repeat("a", 65),
	} {
		cases = append(cases, badCase{name: q, role: domain.RoleAnalyst, req: get(q), status: 400, code: "invalid"})
	}
	badRun(t, e, cases)
}

// Odd bytes in the unit id of the path: 400 invalid, or 404 when the router
// finds no route; always a problem, never an append.
func TestBadInputPathIDs(t *testing.T) {
	e := newEnv(t)
	resp, admin := e.login(domain.RoleResponsable), e.login(domain.RoleAdmin)
	// ("%2F" alone makes "///", which gorilla/mux redirects: see
	// TestBadInputPathDotSegments.)
	ids := []string{
		"%00", "a%00b", "a%2Fb", "a%20b", "%20", "a+b", strings.Repeat("a", 65), "%C3%A9", "unit%C3%A9",
		"%FF", "%25", "a%3Bb", "a%5Cb", "~x", "a%0Ab", "a%0D%0Ab", "a%09b", "a:b", "a%22b", "%3Cscript%3E",
		strings.Repeat("a", 64), "a..b", "77-EG-01%00",
	}
	for _, id := range ids {
		for _, rt := range []struct {
			c      *client
			method string
			suffix string
			body   string
		}{
			{resp, "POST", "/declarations", `{"available":1,"installed":20}`},
			{resp, "PUT", "/comment", `{"comment":"x"}`},
			{resp, "DELETE", "/comment", ""},
			{resp, "PUT", "/closure", `{"reason":"x"}`},
			{resp, "DELETE", "/closure", ""},
			{admin, "PUT", "", `{"finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`},
			{admin, "PUT", "/pool", `{"pool":"p"}`},
			{admin, "DELETE", "/pool", ""},
			{resp, "GET", "", ""},
		} {
			t.Run(rt.method+" "+id+rt.suffix, func(t *testing.T) {
				before := e.head()
				res := badSend(t, rt.c, badReq{method: rt.method, path: "/api/v1/units/" + id + rt.suffix, body: rt.body})
				switch res.status {
				case http.StatusBadRequest:
					res.problem(t, http.StatusBadRequest, "invalid")
				case http.StatusNotFound:
					res.problem(t, http.StatusNotFound, "not_found")
				default:
					t.Fatalf("got %d %s %q, want a 400 or 404 problem", res.status, res.header.Get("Content-Type"), res.body)
				}
				if e.head() != before {
					t.Fatalf("head moved %d -> %d", before, e.head())
				}
			})
		}
	}
}

// Dot segments and doubled slashes: gorilla/mux cleans the path and answers
// 301 with an empty body (no problem+json) to the cleaned path; a client
// following it turns the POST into a GET of another resource.
func TestBadInputPathDotSegments(t *testing.T) {
	e := newEnv(t)
	resp := e.login(domain.RoleResponsable)
	for _, p := range []string{
		"/api/v1/units/../declarations",
		"/api/v1/units/%2e%2e/declarations",
		"/api/v1/units/./declarations",
		"/api/v1/units/x/../77-EG-01/declarations",
		"//api/v1/units/77-EG-01/declarations",
		"/api/v1//units/77-EG-01/declarations",
		"/api/v1/units/%2F/declarations",
	} {
		t.Run(p, func(t *testing.T) {
			before := e.head()
			res := badSend(t, resp, badReq{method: "POST", path: p, body: `{"available":1,"installed":20}`})
			if res.status != http.StatusBadRequest && res.status != http.StatusNotFound || !strings.HasPrefix(res.header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("got %d %q Location %q, want a 400 or 404 problem", res.status, res.header.Get("Content-Type"), res.header.Get("Location"))
			}
			if e.head() != before {
				t.Fatal("head moved")
			}
		})
	}
}

// "." and ".." pass domain.ValidUnitID, so a unit can be registered under
// them, but no URL reaches it: /api/v1/units/.. is a dot segment (cleaned
// away by gorilla/mux here, and by browsers and curl before sending).
func TestBadInputDotUnitIDs(t *testing.T) {
	e := newEnv(t)
	admin := e.login(domain.RoleAdmin)
	for _, id := range []string{".", ".."} {
		before := e.head()
		admin.do("POST", "/api/v1/units", map[string]any{"unit_id": id, "finess": finessEG, "establishment": "EG",
			"department": "77", "type": "udm", "name": "n"}, nil).problem(t, http.StatusBadRequest, "invalid")
		if e.head() != before {
			t.Fatal("head moved")
		}
	}
}

// A wrong method on an API path: a 405, or for now a 404 (see
// TestBadInputWrongMethodIs405); always a problem, never an append.
func TestBadInputWrongMethod(t *testing.T) {
	e := newEnv(t)
	for _, role := range []domain.Role{"", domain.RoleResponsable, domain.RoleAdmin} {
		c := e.login(role)
		for _, tc := range badWrongMethods {
			t.Run(authzRoleName(role)+" "+tc.method+" "+tc.path, func(t *testing.T) {
				before := e.head()
				res := badSend(t, c, badReq{method: tc.method, path: tc.path, body: tc.body})
				switch res.status {
				case http.StatusMethodNotAllowed:
					res.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
				case http.StatusNotFound:
					res.problem(t, http.StatusNotFound, "not_found")
				default:
					t.Fatalf("got %d %s", res.status, res.body)
				}
				if e.head() != before {
					t.Fatal("head moved")
				}
			})
		}
	}
}

var badWrongMethods = []struct {
	method, path, body, allow string
}{
	{"PATCH", "/api/v1/matrix", "", "GET"},
	{"POST", "/api/v1/matrix", `{}`, "GET"},
	{"DELETE", "/api/v1/matrix", "", "GET"},
	{"PATCH", "/api/v1/units", `{}`, "GET, POST"},
	{"DELETE", "/api/v1/units", "", "GET, POST"},
	{"PATCH", "/api/v1/units/77-EG-01", `{"name":"x"}`, "GET, PUT"},
	{"POST", "/api/v1/units/77-EG-01", `{}`, "GET, PUT"},
	{"DELETE", "/api/v1/units/77-EG-01", "", "GET, PUT"},
	{"GET", "/api/v1/units/77-EG-01/declarations", "", "POST"},
	{"PUT", "/api/v1/units/77-EG-01/declarations", `{"available":1,"installed":20}`, "POST"},
	{"DELETE", "/api/v1/units/77-EG-01/declarations", "", "POST"},
	{"POST", "/api/v1/units/77-EG-01/comment", `{"comment":"x"}`, "DELETE, PUT"},
	{"GET", "/api/v1/units/77-EG-01/closure", "", "DELETE, PUT"},
	{"PATCH", "/api/v1/units/77-EG-01/closure", `{"reason":"x"}`, "DELETE, PUT"},
	{"POST", "/api/v1/units/77-EG-01/pool", `{"pool":"p"}`, "DELETE, PUT"},
	{"PATCH", "/api/v1/departments/77/rows", "", "GET"},
	{"POST", "/api/v1/freshness", `{}`, "GET"},
	{"PUT", "/api/v1/freshness/overdue", `{}`, "GET"},
	{"PUT", "/api/v1/session", `{}`, "DELETE, GET, POST"},
	{"PUT", "/api/v1/backup", `{}`, "GET"},
	{"POST", "/healthz", "", "GET, HEAD"},
}

// RFC 9110 §15.5.6: a 405 says so and MUST list the allowed methods in Allow.
func TestBadInputWrongMethodIs405(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	for _, tc := range badWrongMethods {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := badSend(t, c, badReq{method: tc.method, path: tc.path, body: tc.body})
			res.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
			if got := res.header.Get("Allow"); badMethodSet(got) != badMethodSet(tc.allow) {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// badMethodSet normalises an Allow header: sorted, upper case, no blanks.
func badMethodSet(h string) string {
	var ms []string
	for _, m := range strings.Split(h, ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			ms = append(ms, m)
		}
	}
	slices.Sort(ms)
	return strings.Join(slices.Compact(ms), ",")
}

// The same login with the wrong content type, many times: a 415 each time,
// never counted as a failed login (no 429), and a proper login after works.
func TestBadInputLoginRepeated(t *testing.T) {
	e := newEnv(t)
	anon := e.login("")
	for i := range 30 {
		res := badSend(t, anon, badReq{method: "POST", path: "/api/v1/session", body: `{"identifier":"analyst","password":"` + password + `"}`, ctype: "text/plain"})
		if res.status != http.StatusUnsupportedMediaType {
			t.Fatalf("attempt %d: %d %s", i, res.status, res.body)
		}
		res.problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		if res.header.Get("Set-Cookie") != "" {
			t.Fatal("a refused login set a cookie")
		}
	}
	e.login(domain.RoleAnalyst) // fatal unless 201
}

// The refusals sit at the boundary: just inside it, the same requests pass.
func TestBadInputBoundariesAccepted(t *testing.T) {
	e := newEnv(t)
	resp := e.login(domain.RoleResponsable)
	exact := `{"available":1,"installed":20,"comment":"` + strings.Repeat("é", domain.MaxCommentLen) + `"}`
	exact += strings.Repeat(" ", 64<<10-len(exact)) // exactly 64 KiB with trailing white space
	for _, tc := range []struct {
		name string
		req  badReq
	}{
		{"body of exactly 64 KiB, 500-character comment", badPost(badDecl, exact)},
		{"charset parameter", badReq{method: "POST", path: badDecl, body: `{"available":2,"installed":20}`, ctype: "application/json; charset=utf-8"}},
		{"media type in capitals", badReq{method: "POST", path: badDecl, body: `{"available":3,"installed":20}`, ctype: "Application/JSON"}},
		{"trailing new line", badPost(badDecl, `{"available":4,"installed":20}`+"\r\n")},
		{"zero counts", badPost(badDecl, `{"available":0,"installed":0,"closed_places":0}`)},
		{"all closed", badPost(badDecl, `{"available":0,"installed":20,"closed_places":20}`)},
		{"available = installed - closed", badPost(badDecl, `{"available":19,"installed":20,"closed_places":1}`)},
		{"maximum installed", badPost(badDecl, fmt.Sprintf(`{"available":%d,"installed":%d}`, domain.MaxCount, domain.MaxCount))},
		{"If-Match *", badReq{method: "POST", path: badDecl, body: `{"available":5,"installed":20}`, header: map[string]string{"If-Match": "*"}}},
		{"Idempotency-Key of 200 bytes", badReq{method: "POST", path: badDecl, body: `{"available":6,"installed":20}`, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 200)}}},
		{"comment of 500 characters", badPut(badComment, `{"comment":"`+strings.Repeat("x", domain.MaxCommentLen)+`"}`)},
		{"closure planned end after start", badPut(badClosure, `{"reason":"travaux","start":"2025-03-10T08:00:00Z","planned_end":"2025-03-10T08:00:01Z"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			res := badSend(t, resp, tc.req)
			if res.status != http.StatusOK {
				t.Fatalf("got %d %s", res.status, res.body)
			}
			if e.head() <= before {
				t.Fatal("accepted but the head did not move")
			}
		})
	}
	// The unit's (weak) ETag as If-Match, min_position=0 and known filters are fine too.
	u := resp.do("GET", "/api/v1/units/77-EG-02", nil, nil)
	res := badSend(t, resp, badReq{method: "POST", path: "/api/v1/units/77-EG-02/declarations", body: `{"available":1,"installed":18}`,
		header: map[string]string{"If-Match": u.header.Get("ETag")}})
	if res.status != http.StatusOK {
		t.Fatalf("weak If-Match: %d %s", res.status, res.body)
	}
	for _, q := range []string{"/api/v1/matrix?min_position=0", "/api/v1/units?department=77&type=udm&establishment=" + finessEG + "&band=1h&min_position=1",
		"/api/v1/departments/2A/rows", "/api/v1/departments/971/rows?row=udm", "/api/v1/freshness/overdue?department=75"} {
		if res := resp.do("GET", q, nil, nil); res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", q, res.status, res.body)
		}
	}
}

// An Idempotency-Key used for one command, then sent with another command
// on the same unit, must not be answered as a replay of the first: the
// second is either executed or refused.
func TestBadInputIdempotencyKeyReusedForAnotherCommand(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	key := map[string]string{"Idempotency-Key": "k-1"}
	if res := c.do("POST", badDecl, map[string]any{"available": 1, "installed": 20}, key); res.status != http.StatusOK {
		t.Fatalf("declare: %d %s", res.status, res.body)
	}
	res := c.do("PUT", badClosure, map[string]any{"reason": "travaux"}, key)
	if res.status == http.StatusOK {
		if res.json["replayed"] == true || res.json["unit"].(map[string]any)["closure"] == nil {
			t.Fatalf("the closure was answered as a replay of the declaration: %s", res.body)
		}
		return
	}
	if res.status != http.StatusConflict && res.status != http.StatusUnprocessableEntity {
		t.Fatalf("got %d %s", res.status, res.body)
	}
}

// Invalid UTF-8 in a JSON string is silently replaced by U+FFFD by
// encoding/json (v1): the ledger records text the client never sent.
func TestBadInputInvalidUTF8(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	before := e.head()
	badSend(t, c, badPost(badDecl, "{\"available\":1,\"installed\":20,\"comment\":\"\xff\xfe\"}")).problem(t, http.StatusBadRequest, "invalid")
	badSend(t, c, badPut(badComment, "{\"text\":\"caf\xe9\"}")).problem(t, http.StatusBadRequest, "invalid")
	if e.head() != before {
		t.Fatal("head moved")
	}
}

// RFC 9110 §11.6.1: a 401 MUST carry WWW-Authenticate. httpauth's own 401s
// do; the API's (Server.principal) do not.
func TestBadInputUnauthorizedChallenge(t *testing.T) {
	e := newEnv(t)
	anon := e.login("")
	for _, p := range []string{"/api/v1/matrix", "/api/v1/units/77-EG-01"} {
		res := anon.do("GET", p, nil, nil)
		res.problem(t, http.StatusUnauthorized, "unauthorized")
		if res.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("GET %s: 401 without WWW-Authenticate", p)
		}
	}
}

// Random bodies at the declaration and closure endpoints: never a 5xx,
// every 4xx a problem, the head moving only on a 2xx (and then by what the
// answer says it appended). The seed is printed; DISPO_BADINPUT_SEED
// replays one, DISPO_BADINPUT_N sets the requests per round (200).
func TestBadInputRandomBodies(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DISPO_BADINPUT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	perRound := 200
	if s := os.Getenv("DISPO_BADINPUT_N"); s != "" { // more for a longer hunt
		var err error
		if perRound, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (replay with DISPO_BADINPUT_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	statuses := map[int]int{}
	// Two rounds on fresh logs: declarations only (units stay open, so
	// valid bodies reach the append), then closures mixed in.
	for round, closures := range []bool{false, true} {
		e := newEnv(t)
		resp := e.login(domain.RoleResponsable)
		for i := range perRound {
			g := badGen{r: rng}
			q := g.request(closures)
			before := e.head()
			res := badSend(t, resp, q)
			after := e.head()
			statuses[res.status]++
			where := fmt.Sprintf("round %d request %d (seed %d): %s %s %v body %q", round, i, seed, q.method, q.path, q.header, badShort(q.body))
			switch {
			case res.status >= 500:
				t.Fatalf("%s: %d %s", where, res.status, res.body)
			case res.status >= 400:
				if !strings.HasPrefix(res.header.Get("Content-Type"), "application/problem+json") || res.json["code"] == nil ||
					res.json["status"] != float64(res.status) {
					t.Fatalf("%s: %d not a problem: %s %s", where, res.status, res.header.Get("Content-Type"), res.body)
				}
				if after != before {
					t.Fatalf("%s: refused with %d but the head moved %d -> %d", where, res.status, before, after)
				}
			case res.status >= 200 && res.status < 300:
				appended, _ := res.json["appended"].(float64)
				if after != before+uint64(appended) {
					t.Fatalf("%s: %d appended %v but the head moved %d -> %d", where, res.status, res.json["appended"], before, after)
				}
			default:
				t.Fatalf("%s: unexpected %d %s", where, res.status, res.body)
			}
		}
	}
	t.Logf("statuses: %v", statuses)
	if statuses[200] == 0 || statuses[400] == 0 {
		t.Fatalf("the generator missed a class of answers: %v", statuses)
	}
}

func badShort(s string) string {
	if len(s) > 200 {
		return s[:200] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// badGen generates requests, mostly near-valid so that they reach the
// deeper checks.
type badGen struct{ r *rand.Rand }

func (g badGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g badGen) request(closures bool) badReq {
	unit := g.pick("77-EG-01", "77-EG-02", "77-EG-03", "77-EG-04", "77-EG-01", "77-EG-02", "75-OTHER-01", "77-EG-99", "a%00b", "%C3%A9")
	q := badReq{method: "POST", path: "/api/v1/units/" + unit + "/declarations"}
	fields := []string{"available", "installed", "closed", "comment"}
	if closures {
		switch n := g.r.IntN(10); {
		case n < 4:
			q.method, q.path = "PUT", "/api/v1/units/"+unit+"/closure"
			fields = []string{"reason", "start", "planned_end", "reopenable"}
		case n < 5:
			q.method, q.path = "DELETE", "/api/v1/units/"+unit+"/closure"
			fields = nil
		}
	}
	if fields != nil {
		q.body = g.body(fields)
	}
	switch n := g.r.IntN(20); {
	case n == 0:
		q.ctype = "-"
	case n == 1:
		q.ctype = g.pick("text/plain", "application/json; charset=utf-8", "application/jsonx", "application/json;", "*/*")
	}
	if g.r.IntN(8) == 0 {
		q.header = map[string]string{}
		if g.r.IntN(2) == 0 {
			q.header["If-Match"] = g.pick(`"0"`, `"2"`, `"3"`, "*", `W/"2"`, "x", `"-1"`, `"-5"`, `"9223372036854775807"`)
		} else {
			q.header["Idempotency-Key"] = g.pick("k1", "k2", "a b", "$x", strings.Repeat("z", 201), "é", fmt.Sprint(g.r.Uint64()))
		}
	}
	return q
}

// body is a JSON object of some of fields (and some strangers), with values
// of any type, then perhaps mutated at the byte level.
func (g badGen) body(fields []string) string {
	if g.r.IntN(3) == 0 {
		return g.valid(fields)
	}
	if g.r.IntN(25) == 0 { // random bytes
		b := make([]byte, g.r.IntN(64))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return string(b)
	}
	var sb strings.Builder
	sb.WriteByte('{')
	n := 0
	for _, f := range fields {
		if g.r.IntN(5) == 0 {
			continue
		}
		if n > 0 {
			sb.WriteByte(',')
		}
		n++
		fmt.Fprintf(&sb, "%q:%s", f, g.value(f, 0))
	}
	if g.r.IntN(10) == 0 {
		if n > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%q:%s", g.pick("bogus", "Available", "INSTALLED", "unit_id", "", "comment\u0000"), g.value("", 0))
	}
	sb.WriteByte('}')
	s := sb.String()
	switch g.r.IntN(12) {
	case 0: // truncated
		s = s[:g.r.IntN(len(s))]
	case 1: // a byte replaced
		b := []byte(s)
		b[g.r.IntN(len(b))] = byte(g.r.IntN(256))
		s = string(b)
	case 2: // trailing data
		s += g.pick(" x", "}", "]", " {}", ",", " null", "\x00", "\n")
	case 3: // wrapped
		s = g.pick("[", "null", `{"a":`) + s
	case 4: // huge
		s = s[:len(s)-1] + `,"pad":"` + strings.Repeat("p", 64<<10) + `"}`
	}
	return s
}

// valid is a body the endpoint accepts (the unit's state permitting).
func (g badGen) valid(fields []string) string {
	if fields[0] == "reason" {
		return fmt.Sprintf(`{"reason":%s,"reopenable":%v}`, strconv.Quote(g.pick("travaux", "panne d'eau", "désinfection")), g.r.IntN(4) != 0)
	}
	installed := g.r.IntN(40)
	closed := g.r.IntN(installed + 1)
	available := g.r.IntN(installed - closed + 1)
	comment := ""
	if g.r.IntN(2) == 0 {
		comment = `,"comment":` + strconv.Quote(g.pick("", "1 place le 11/03 à 10h", "complet"))
	}
	return fmt.Sprintf(`{"available":%d,"installed":%d,"closed_places":%d%s}`, available, installed, closed, comment)
}

// value is a JSON value for field f: mostly of the right type, often at or
// past the limits, sometimes of another type.
func (g badGen) value(f string, depth int) string {
	if g.r.IntN(6) == 0 || f == "" {
		return g.any(depth)
	}
	switch f {
	case "available", "installed", "closed_places":
		return g.pick(strconv.Itoa(g.r.IntN(30)), strconv.Itoa(g.r.IntN(30)), strconv.Itoa(g.r.IntN(30)-5),
			"0", "-0", "100000", "100001", "9223372036854775807", "-9223372036854775808", "1e2", "1.5", "2.0", "1E400", "00", "+1", "0x10")
	case "comment", "reason":
		return g.text()
	case "start", "planned_end":
		return g.pick(`"2025-03-06T15:00:00Z"`, `"2025-03-10T08:00:00+01:00"`, `"2025-03-05T08:00:00Z"`, `"2024-12-31T23:59:59.999999999-12:00"`,
			`"0000-01-01T00:00:00Z"`, `"0000-01-01T00:00:00+01:00"`, `"9999-12-31T23:59:59Z"`, `"9999-12-31T23:59:59-01:00"`,
			`"0001-01-01T00:00:00Z"`, `"2025-02-30T00:00:00Z"`, `"2025-03-06"`, `"2025-03-06T25:00:00Z"`, `"2025-03-06T15:00:00+24:00"`,
			`"2025-03-06T15:00:00+23:59"`, `""`, `null`, `1741270000`, g.text())
	case "reopenable":
		return g.pick("true", "false", "null", `"true"`, "1")
	}
	return g.any(depth)
}

func (g badGen) any(depth int) string {
	n := g.r.IntN(9)
	if depth > 2 && n >= 7 {
		n = 0
	}
	switch n {
	case 0:
		return strconv.Itoa(g.r.IntN(2000) - 1000)
	case 1:
		return strconv.FormatFloat(g.r.NormFloat64()*1e6, 'g', -1, 64)
	case 2:
		return g.text()
	case 3:
		return g.pick("true", "false")
	case 4:
		return "null"
	case 5:
		return g.pick(`""`, `"0"`, `"1"`, "-1")
	case 6:
		return g.pick("1e308", "-1e-308", "123456789012345678901234567890")
	case 7:
		return "[" + g.any(depth+1) + "," + g.any(depth+1) + "]"
	default:
		return fmt.Sprintf(`{"available":%s,"x":%s}`, g.any(depth+1), g.any(depth+1))
	}
}

// text is a JSON string: ordinary, long, with escapes, control characters,
// unicode.
func (g badGen) text() string {
	switch g.r.IntN(8) {
	case 0:
		return `""`
	case 1:
		return strconv.Quote(strings.Repeat(g.pick("a", "é", "😀", " "), g.r.IntN(2)*500+g.r.IntN(3)))
	case 2:
		return `"a\u0000b"`
	case 3:
		return `"\ud800"` // lone surrogate: decoded as U+FFFD
	case 4:
		return `"tab\there"`
	case 5:
		return `"` + "\x01" + `"`
	}
	return strconv.Quote(g.pick("1 place le 11/03 à 10h", "travaux", "panne d'eau", "<script>", "'; DROP TABLE units; --", "UC DIALYSE UDM"))
}
