package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"dispo/domain"
)

func TestUnitHistory(t *testing.T) {
	e := newEnv(t)
	r := e.login(domain.RoleAuditor).do("GET", "/api/v1/units/77-EG-02/history", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	events := r.json["events"].([]any)
	if len(events) != 5 || int(r.json["count"].(float64)) != 5 {
		t.Fatalf("history of 77-EG-02 has %d events, want its 5", len(events))
	}
	var prevRev float64 = -1
	for _, x := range events {
		ev := x.(map[string]any)
		if ev["revision"].(float64) != prevRev+1 || ev["recorded_at"] == "" || ev["actor"].(map[string]any)["user_id"] == nil || ev["source"] == "" {
			t.Fatalf("event lacks what auditors need: %v", ev)
		}
		prevRev = ev["revision"].(float64)
	}
	first, last := events[0].(map[string]any), events[len(events)-1].(map[string]any)
	if first["type"] != domain.TypeUnitRegistered || first["state"].(map[string]any)["installed"].(float64) != 0 {
		t.Fatalf("first event %v", first)
	}
	st := last["state"].(map[string]any)
	if st["available"].(float64) != 1 || st["installed"].(float64) != 18 || last["recorded_at_paris"] != "12:47 le 09/08/2024" {
		t.Fatalf("state after the last event: %v at %v", st, last["recorded_at_paris"])
	}

	// As of an instant before the 09/08 declaration.
	r = e.login(domain.RoleAuditor).do("GET", "/api/v1/units/77-EG-02/history?at=2024-08-08T12:00:00%2B02:00", nil, nil)
	if n := len(r.json["events"].([]any)); r.status != 200 || n >= 5 {
		t.Fatalf("history as of 08/08: %d with %d events", r.status, n)
	}
	u := e.login(domain.RoleProfessionnel).do("GET", "/api/v1/units/77-EG-02?at=2024-08-08T12:00:00Z", nil, nil)
	if u.status != 200 || u.json["last_update_paris"] == "12:47 le 09/08/2024" || u.json["band"] == "" {
		t.Fatalf("unit as of 08/08: %d %s", u.status, u.body)
	}
	if u := e.login(domain.RoleProfessionnel).do("GET", "/api/v1/units/77-EG-02?at=2024-08-09T11:00:00Z", nil, nil); u.json["band"] != "1h" || u.json["available"].(float64) != 1 {
		t.Fatalf("unit 13 minutes after its declaration: %s", u.body)
	}
}

func TestHistoryAuthorization(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		role   domain.Role
		unit   string
		status int
	}{
		{domain.RoleAuditor, "75-OTHER-01", 200},
		{domain.RoleAdmin, "77-EG-01", 200},
		{domain.RoleResponsable, "77-EG-01", 200},
		{domain.RoleResponsable, "75-OTHER-01", 403},
		{domain.RoleProfessionnel, "77-EG-01", 403},
		{domain.RoleAnalyst, "77-EG-01", 403},
		{"", "77-EG-01", 401},
	} {
		r := e.login(tc.role).do("GET", "/api/v1/units/"+tc.unit+"/history", nil, nil)
		if r.status != tc.status {
			t.Errorf("%s reading %s's history: %d, want %d", tc.role, tc.unit, r.status, tc.status)
		}
	}
}

func TestHistoryBadInput(t *testing.T) {
	e := newEnv(t)
	a := e.login(domain.RoleAuditor)
	a.do("GET", "/api/v1/units/77-NOPE/history", nil, nil).problem(t, 404, "not_found")
	a.do("GET", "/api/v1/units/77-EG-01/history?at=2020-01-01T00:00:00Z", nil, nil).problem(t, 404, "not_found")
	a.do("GET", "/api/v1/units/77-EG-01/history?at=yesterday", nil, nil).problem(t, 400, "invalid")
	a.do("GET", "/api/v1/units/77-EG-01?at=2024-13-01T00:00:00Z", nil, nil).problem(t, 400, "invalid")
	a.do("GET", "/api/v1/units/77-EG-01?at=3000-01-01T00:00:00Z", nil, nil).problem(t, 400, "invalid")
}

// The matrix and a department's detail as of an instant: what the screen
// showed then, bands against that instant.
func TestMatrixAndDetailAsOf(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleProfessionnel)
	// Before the 09/08 declarations the seed's units declared on 05/08.
	d := c.do("GET", "/api/v1/departments/77/rows?at=2024-08-06T12:00:00%2B02:00", nil, nil)
	if d.status != 200 {
		t.Fatalf("detail as of: %d %s", d.status, d.body)
	}
	for _, x := range d.json["rows"].([]any) {
		if row := x.(map[string]any); row["last_update_paris"] == "12:47 le 09/08/2024" {
			t.Fatalf("as of 06/08 the detail shows a later declaration: %v", row)
		}
	}
	now := c.do("GET", "/api/v1/departments/77/rows", nil, nil)
	if now.body == d.body {
		t.Fatal("the detail as of 06/08 is today's")
	}
	m := c.do("GET", "/api/v1/matrix?at=2024-08-09T10:48:00Z", nil, nil)
	if m.status != 200 || m.json["total"].(map[string]any)["total"].(map[string]any)["available"].(float64) != 1 {
		t.Fatalf("matrix as of 09/08 12:48: %d %s", m.status, m.body)
	}
	f := c.do("GET", "/api/v1/freshness?at=2024-08-09T10:48:00Z", nil, nil)
	if f.json["total"].(map[string]any)["1h"].(float64) != 3 {
		t.Fatalf("freshness as of a minute after the declarations: %s", f.body)
	}
	c.do("GET", "/api/v1/matrix?at=never", nil, nil).problem(t, 400, "invalid")
	empty := c.do("GET", "/api/v1/units?at=2000-01-01T00:00:00Z", nil, nil)
	if empty.status != 200 || empty.json["count"].(float64) != 0 {
		t.Fatalf("units as of 2000: %d %s", empty.status, empty.body)
	}
}

// An admin seals the log on demand: the seal commits to every stream's head.
func TestSealOnDemand(t *testing.T) {
	e := newEnv(t)
	e.login(domain.RoleAuditor).do("POST", "/api/v1/seal", nil, nil).problem(t, 403, "forbidden")
	before := e.head()
	r := e.login(domain.RoleAdmin).do("POST", "/api/v1/seal", nil, nil)
	if r.status != 201 || uint64(r.json["position"].(float64)) != before+1 {
		t.Fatalf("seal: %d %s", r.status, r.body)
	}
	evs, err := e.log.ReadStreamBackward(context.Background(), domain.SealStream, -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	heads := map[string]uint64{}
	for _, h := range evs[0].Event.(domain.LogSealed).Heads {
		heads[h.Stream] = h.Revision
	}
	if heads["unit-77-EG-02"] != 4 || heads["unit-75-OTHER-01"] != 0 || len(heads) != 5 {
		t.Fatalf("seal heads %v", heads)
	}
	if evs[0].Actor.UserID != "admin" || evs[0].Hash.IsZero() {
		t.Fatalf("seal envelope: %+v", evs[0])
	}
}
