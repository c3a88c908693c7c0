package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"dispo/domain"
)

// num reads a JSON number member.
func num(t *testing.T, m map[string]any, key string) int {
	t.Helper()
	f, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%q is not a number in %v", key, m)
	}
	return int(f)
}

// unitOf is the unit a command answered.
func unitOf(t *testing.T, r response) map[string]any {
	t.Helper()
	u, ok := r.json["unit"].(map[string]any)
	if r.status != http.StatusOK || !ok {
		t.Fatalf("command: %d %s", r.status, r.body)
	}
	return u
}

// A pooled unit's command answer, GET and ETag agree, say the figure is
// the pool's, and move when a fellow member declares; a pool-mate's
// declaration never fails a command's If-Match.
func TestPooledUnitOneAnswer(t *testing.T) {
	e := newEnv(t)
	admin, resp := e.login(domain.RoleAdmin), e.login(domain.RoleResponsable)
	for _, id := range []string{"77-EG-01", "77-EG-02"} {
		if r := admin.do("PUT", "/api/v1/units/"+id+"/pool", map[string]any{"pool": "EG-POOL"}, nil); r.status != http.StatusOK {
			t.Fatalf("pool %s: %d %s", id, r.status, r.body)
		}
	}
	u1 := unitOf(t, resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 5, "installed": 24}, nil))
	if num(t, u1, "available") != 5 {
		t.Fatalf("declared 5 on -02: %v", u1)
	}
	// A comment on -01: the answer shows the pool's 5, not -01's own figure.
	c := resp.do("PUT", "/api/v1/units/77-EG-01/comment", map[string]any{"comment": "1 place le 11/03 à 10h"}, nil)
	cu := unitOf(t, c)
	pool, _ := cu["pool"].(map[string]any)
	if num(t, cu, "available") != 5 || pool == nil || pool["id"] != "EG-POOL" || num(t, pool, "available") != 5 {
		t.Fatalf("comment on -01 answered %v", cu)
	}
	if m, _ := pool["members"].([]any); len(m) != 2 || m[0] != "77-EG-01" || m[1] != "77-EG-02" {
		t.Fatalf("pool members %v", pool["members"])
	}
	g := resp.do("GET", "/api/v1/units/77-EG-01", nil, nil)
	if g.header.Get("ETag") != c.header.Get("ETag") || num(t, g.json, "available") != 5 {
		t.Fatalf("GET: ETag %s available %v; the command answered ETag %s", g.header.Get("ETag"), g.json["available"], c.header.Get("ETag"))
	}
	oldTag, oldRev := g.header.Get("ETag"), num(t, g.json, "revision")

	// -02 declares 7: -01 shows 7, its tag changes, its revision does not.
	resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 7, "installed": 24}, nil)
	g = resp.do("GET", "/api/v1/units/77-EG-01", nil, map[string]string{"If-None-Match": oldTag})
	if g.status != http.StatusOK || num(t, g.json, "available") != 7 || g.header.Get("ETag") == oldTag || num(t, g.json, "revision") != oldRev {
		t.Fatalf("after -02 declared 7: %d available %v ETag %s (old %s) revision %v (old %d)", g.status, g.json["available"], g.header.Get("ETag"), oldTag, g.json["revision"], oldRev)
	}
	// The old tag still satisfies If-Match: the unit itself did not change.
	r := resp.do("PUT", "/api/v1/units/77-EG-01/comment", map[string]any{"comment": "2 places"}, map[string]string{"If-Match": oldTag})
	if r.status != http.StatusOK || num(t, unitOf(t, r), "available") != 7 {
		t.Fatalf("If-Match with the old tag after a pool-mate's declaration: %d %s", r.status, r.body)
	}
	// The matrix cell says its figure holds a pool's places, counted once.
	m := resp.do("GET", "/api/v1/matrix", nil, nil)
	for _, row := range m.json["rows"].([]any) {
		r := row.(map[string]any)
		if r["code"] == "dialyse" {
			cell := r["cells"].(map[string]any)["77"].(map[string]any)
			if num(t, cell, "pools") != 1 {
				t.Fatalf("dialyse/77 cell %v: want 1 pool", cell)
			}
		}
	}
	// The detail row is the same rendering.
	d := resp.do("GET", "/api/v1/departments/77/rows?row=dialyse", nil, nil)
	rows, _ := d.json["rows"].([]any)
	found := false
	for _, row := range rows {
		if m := row.(map[string]any); m["unit_id"] == "77-EG-01" {
			found = true
			if num(t, m, "available") != 7 || m["pool"] == nil || m["band"] == "" || m["comment"] != "2 places" || m["comment_at"] == nil {
				t.Fatalf("detail row %v", m)
			}
		}
	}
	if !found {
		t.Fatalf("77-EG-01 not in the detail: %s", d.body)
	}
}

// Refusals are the domain's, whatever door: a closed unit refuses bad
// counts as closed, a professionnel's bad counts are forbidden, and every
// problem names its field with a French title and detail.
func TestRefusalsAreTheDomains(t *testing.T) {
	e := newEnv(t)
	resp, pro := e.login(domain.RoleResponsable), e.login(domain.RoleProfessionnel)
	unitOf(t, resp.do("PUT", "/api/v1/units/77-EG-03/closure", map[string]any{"reason": "travaux"}, nil))
	unitOf(t, resp.do("PUT", "/api/v1/units/77-EG-04/closure", map[string]any{"reason": "fermeture", "reopenable": false}, nil))
	bad := map[string]any{"available": 30, "installed": 20}
	r := resp.do("POST", "/api/v1/units/77-EG-03/declarations", bad, nil)
	r.problem(t, http.StatusConflict, "unit_closed")
	if r.json["field"] != "closure" {
		t.Fatalf("unit_closed names field %v", r.json["field"])
	}
	r = pro.do("POST", "/api/v1/units/77-EG-01/declarations", bad, nil)
	r.problem(t, http.StatusForbidden, "forbidden")

	for _, tc := range []struct {
		path, method string
		body         any
		field        string
	}{
		{"/api/v1/units/77-EG-01/declarations", "POST", map[string]any{"available": 30, "installed": 20}, "available"},
		{"/api/v1/units/77-EG-01/declarations", "POST", map[string]any{"available": 0, "installed": -1}, "installed"},
		{"/api/v1/units/77-EG-01/declarations", "POST", map[string]any{"available": 0, "installed": 2, "closed_places": 3}, "closed_places"},
		{"/api/v1/units/77-EG-01/declarations", "POST", map[string]any{"installed": 2}, "available"},
		{"/api/v1/units/77-EG-01/declarations", "POST", map[string]any{"available": "deux", "installed": 2}, "available"},
		{"/api/v1/units/77-EG-01/comment", "PUT", map[string]any{"comment": strings.Repeat("x", domain.MaxCommentLen+1)}, "comment"},
		{"/api/v1/units/77-EG-01/closure", "PUT", map[string]any{"reason": ""}, "reason"},
		{"/api/v1/units/77-EG-03/closure", "PUT", map[string]any{"reason": "encore"}, "closure"},
		{"/api/v1/units/77-EG-04/closure", "DELETE", nil, "closure"},
	} {
		r := resp.do(tc.method, tc.path, tc.body, nil)
		title, _ := r.json["title"].(string)
		detail, _ := r.json["detail"].(string)
		if r.status < 400 || r.json["field"] != tc.field || !french(title) || !french(detail) || strings.Contains(r.body, "httpapi.") {
			t.Errorf("%s %s %v: %d field %v, title %q, detail %q; want field %q, French", tc.method, tc.path, tc.body, r.status, r.json["field"], title, detail, tc.field)
		}
	}
}

// french is a rough check that s is not one of the English sentences the
// API used to answer with.
func french(s string) bool {
	if s == "" {
		return false
	}
	for _, w := range []string{" must ", " is ", " are ", "exceed", "invalid ", "required", "expected"} {
		if strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// history returns the event types of a unit's history.
func historyTypes(t *testing.T, c *client, id string) []string {
	t.Helper()
	h := c.do("GET", "/api/v1/units/"+id+"/history", nil, nil)
	if h.status != http.StatusOK {
		t.Fatalf("history of %s: %d %s", id, h.status, h.body)
	}
	var types []string
	for _, ev := range h.json["events"].([]any) {
		types = append(types, ev.(map[string]any)["type"].(string))
	}
	return types
}

// An admin retires a unit: it leaves the lists and the matrix, accepts
// nothing more, and its history and page stay.
func TestAdminRetiresAUnit(t *testing.T) {
	e := newEnv(t)
	admin, resp := e.login(domain.RoleAdmin), e.login(domain.RoleResponsable)
	resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 3, "installed": 24}, nil)
	before := resp.do("GET", "/api/v1/matrix?min_position="+itoa(e.head()), nil, nil)

	r := resp.do("POST", "/api/v1/units/77-EG-02/retirement", map[string]any{"reason": "fermée définitivement"}, nil)
	r.problem(t, http.StatusForbidden, "forbidden")
	r = admin.do("POST", "/api/v1/units/77-EG-02/retirement", map[string]any{"reason": ""}, nil)
	r.problem(t, http.StatusBadRequest, "invalid")
	r = admin.do("POST", "/api/v1/units/77-EG-02/retirement", map[string]any{"reason": "fusionnée avec 77-EG-01"}, nil)
	if u := unitOf(t, r); u["retired"] != true || num(t, u, "available") != 0 {
		t.Fatalf("retired unit answered %v", u)
	}
	after := resp.do("GET", "/api/v1/matrix?min_position="+itoa(e.head()), nil, nil)
	total := func(m response) (int, int) {
		tot := m.json["total"].(map[string]any)["total"].(map[string]any)
		return num(t, tot, "available"), num(t, tot, "units")
	}
	a0, n0 := total(before)
	a1, n1 := total(after)
	if n1 != n0-1 || a1 != a0-3 {
		t.Fatalf("matrix total before %d avail / %d units, after %d / %d", a0, n0, a1, n1)
	}
	list := resp.do("GET", "/api/v1/units?department=77", nil, nil)
	if strings.Contains(list.body, `"77-EG-02"`) {
		t.Fatalf("retired unit still listed: %s", list.body)
	}
	r = resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 1, "installed": 24}, nil)
	r.problem(t, http.StatusConflict, "unit_retired")
	if g := resp.do("GET", "/api/v1/units/77-EG-02", nil, nil); g.status != http.StatusOK || g.json["retired"] != true {
		t.Fatalf("GET retired unit: %d %s", g.status, g.body)
	}
	if types := historyTypes(t, admin, "77-EG-02"); types[len(types)-1] != domain.TypeUnitRetired {
		t.Fatalf("history ends with %v", types)
	}
}

// A closure made by mistake, even one "non réactivable", is cancelled by
// an admin with its own event: the unit shows its pre-closure figures with
// their date. A responsable cannot reopen it, nor cancel it.
func TestAdminCancelsAMistakenClosure(t *testing.T) {
	e := newEnv(t)
	admin, resp := e.login(domain.RoleAdmin), e.login(domain.RoleResponsable)
	unitOf(t, resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 4, "installed": 24}, nil))
	declared := resp.do("GET", "/api/v1/units/77-EG-02", nil, nil)
	r := resp.do("PUT", "/api/v1/units/77-EG-02/closure", map[string]any{"reason": "erreur de saisie", "reopenable": false}, nil)
	if u := unitOf(t, r); u["unit_closed"] != true || num(t, u, "available") != 0 {
		t.Fatalf("closed: %v", u)
	}
	resp.do("DELETE", "/api/v1/units/77-EG-02/closure", nil, nil).problem(t, http.StatusConflict, "conflict")
	resp.do("POST", "/api/v1/units/77-EG-02/closure/cancellation", map[string]any{"reason": "erreur"}, nil).problem(t, http.StatusForbidden, "forbidden")
	r = admin.do("POST", "/api/v1/units/77-EG-02/closure/cancellation", map[string]any{"reason": "fermée par erreur au lieu de 77-EG-03"}, nil)
	u := unitOf(t, r)
	if u["unit_closed"] != false || num(t, u, "available") != 4 || u["awaiting_declaration"] != false || u["last_declared_at"] != declared.json["last_declared_at"] {
		t.Fatalf("after cancellation: %v", u)
	}
	types := historyTypes(t, admin, "77-EG-02")
	if n := len(types); n < 2 || types[n-2] != domain.TypeUnitClosed || types[n-1] != domain.TypeClosureCancelled {
		t.Fatalf("history ends with %v", types)
	}
	admin.do("POST", "/api/v1/units/77-EG-02/closure/cancellation", map[string]any{"reason": "encore"}, nil).problem(t, http.StatusConflict, "conflict")
}

// A reopened unit does not show its pre-closure figures as today's: 0
// available, awaiting a declaration, until it declares.
func TestReopenedUnitAwaitsADeclaration(t *testing.T) {
	e := newEnv(t)
	resp := e.login(domain.RoleResponsable)
	unitOf(t, resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 4, "installed": 24}, nil))
	unitOf(t, resp.do("PUT", "/api/v1/units/77-EG-02/closure", map[string]any{"reason": "travaux"}, nil))
	u := unitOf(t, resp.do("DELETE", "/api/v1/units/77-EG-02/closure", nil, nil))
	if num(t, u, "available") != 0 || u["awaiting_declaration"] != true || num(t, u, "installed") != 24 || u["unit_closed"] != false {
		t.Fatalf("reopened: %v", u)
	}
	u = unitOf(t, resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 2, "installed": 24}, nil))
	if num(t, u, "available") != 2 || u["awaiting_declaration"] != false {
		t.Fatalf("declared after reopening: %v", u)
	}
}

// A mistaken declaration is corrected by an event naming it; only the last
// declaration can be, by its responsable or an admin.
func TestCorrectADeclaration(t *testing.T) {
	e := newEnv(t)
	admin, resp, pro := e.login(domain.RoleAdmin), e.login(domain.RoleResponsable), e.login(domain.RoleProfessionnel)
	first := unitOf(t, resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 4, "installed": 24}, nil))
	second := unitOf(t, resp.do("POST", "/api/v1/units/77-EG-02/declarations", map[string]any{"available": 14, "installed": 24}, nil))
	fix := map[string]any{"corrects": second["declaration_id"], "available": 1, "installed": 24, "reason": "faute de frappe : 1, pas 14"}
	pro.do("POST", "/api/v1/units/77-EG-02/corrections", fix, nil).problem(t, http.StatusForbidden, "forbidden")
	stale := map[string]any{"corrects": first["declaration_id"], "available": 1, "installed": 24, "reason": "x"}
	r := resp.do("POST", "/api/v1/units/77-EG-02/corrections", stale, nil)
	r.problem(t, http.StatusConflict, "conflict")
	if r.json["field"] != "corrects" {
		t.Fatalf("stale correction names %v", r.json["field"])
	}
	u := unitOf(t, resp.do("POST", "/api/v1/units/77-EG-02/corrections", fix, nil))
	if num(t, u, "available") != 1 || u["last_declared_at"] != second["last_declared_at"] || u["declaration_id"] != second["declaration_id"] {
		t.Fatalf("corrected: %v (declared %v)", u, second)
	}
	fix["available"] = 2
	unitOf(t, admin.do("POST", "/api/v1/units/77-EG-02/corrections", fix, nil))
	types := historyTypes(t, admin, "77-EG-02")
	if n := len(types); types[n-1] != domain.TypeAvailabilityCorrected || types[n-2] != domain.TypeAvailabilityCorrected || types[n-3] != domain.TypeAvailabilityDeclared {
		t.Fatalf("history ends with %v", types)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// The detail is kept between requests, but only until the first of its
// rows changes band with the clock: no write, and the band moves anyway.
func TestDetailFollowsTheClock(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleProfessionnel)
	band := func() map[string]any {
		d := c.do("GET", "/api/v1/departments/77/rows?row=dialyse", nil, nil)
		bands := map[string]any{}
		for _, row := range d.json["rows"].([]any) {
			m := row.(map[string]any)
			bands[m["unit_id"].(string)] = m["band"]
		}
		return bands
	}
	before := band()
	if before["77-EG-04"] != "1h" {
		t.Fatalf("77-EG-04 declared half an hour ago shows %v (%v)", before["77-EG-04"], before)
	}
	head := e.head()
	e.clock.Add(20 * time.Minute) // 50 minutes old: still < 1 h
	if again := band(); again["77-EG-04"] != "1h" {
		t.Fatalf("20 minutes later: %v", again)
	}
	e.clock.Add(15 * time.Minute) // 65 minutes old
	after := band()
	if e.head() != head || after["77-EG-04"] != "3h" {
		t.Fatalf("35 minutes later, no write: 77-EG-04 shows %v, want 3h", after["77-EG-04"])
	}
}
