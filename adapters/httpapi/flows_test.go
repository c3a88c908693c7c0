package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/domain"
)

// The seed's flow: a responsable logs in, declares for its own unit, sees
// it in the matrix and the department detail with the freshest band, is
// refused another establishment's unit, closes a unit and is refused a
// declaration, reopens it.
func TestResponsableFlow(t *testing.T) {
	e := newEnv(t)
	resp := e.login(domain.RoleResponsable)

	res := resp.do("POST", "/api/v1/units/77-EG-02/declarations",
		map[string]any{"available": 3, "installed": 18, "closed_places": 1, "comment": "1 place le 11/03 à 10h"}, nil)
	if res.status != http.StatusOK {
		t.Fatalf("declare: %d %s", res.status, res.body)
	}
	pos := uint64(res.json["position"].(float64))
	if res.header.Get("ETag") == "" || pos != e.head() {
		t.Fatalf("declare answered ETag %q position %d; log head %d", res.header.Get("ETag"), pos, e.head())
	}

	m := resp.do("GET", fmt.Sprintf("/api/v1/matrix?min_position=%d", pos), nil, nil)
	if m.status != http.StatusOK {
		t.Fatalf("matrix: %d %s", m.status, m.body)
	}
	var dialyse map[string]any
	for _, r := range m.json["rows"].([]any) {
		if row := r.(map[string]any); row["code"] == "dialyse" {
			dialyse = row
		}
	}
	cell := dialyse["cells"].(map[string]any)["77"].(map[string]any)
	// 0/20 + 3/18 + 0/24 + 0/0 after the declaration.
	if cell["available"].(float64) != 3 || cell["installed"].(float64) != 62 || cell["units"].(float64) != 4 {
		t.Fatalf("matrix cell 77 = %v", cell)
	}

	d := resp.do("GET", fmt.Sprintf("/api/v1/departments/77/rows?row=dialyse&min_position=%d", pos), nil, nil)
	rows := d.json["rows"].([]any)
	row := rows[1].(map[string]any)
	if row["unit_id"] != "77-EG-02" || row["available"].(float64) != 3 || row["last_update_paris"] != "16:00 le 06/03/2025" || row["comment"] != "1 place le 11/03 à 10h" {
		t.Fatalf("detail row = %v", row)
	}
	u := resp.do("GET", "/api/v1/units/77-EG-02", nil, nil)
	if u.json["band"] != "1h" {
		t.Fatalf("unit band %v, want the freshest", u.json["band"])
	}

	before := e.head()
	res = resp.do("POST", "/api/v1/units/75-OTHER-01/declarations", map[string]any{"available": 1, "installed": 10}, nil)
	res.problem(t, http.StatusForbidden, "forbidden")
	if e.head() != before {
		t.Fatal("a refused declaration appended")
	}

	res = resp.do("PUT", "/api/v1/units/77-EG-03/closure", map[string]any{"reason": "travaux", "reopenable": true}, nil)
	if res.status != http.StatusOK || res.json["unit"].(map[string]any)["closure"] == nil {
		t.Fatalf("close: %d %s", res.status, res.body)
	}
	before = e.head()
	res = resp.do("POST", "/api/v1/units/77-EG-03/declarations", map[string]any{"available": 1, "installed": 24}, nil)
	res.problem(t, http.StatusConflict, "unit_closed")
	if e.head() != before {
		t.Fatal("a declaration on a closed unit appended")
	}
	res = resp.do("DELETE", "/api/v1/units/77-EG-03/closure", nil, nil)
	if res.status != http.StatusOK {
		t.Fatalf("reopen: %d %s", res.status, res.body)
	}
	res = resp.do("POST", "/api/v1/units/77-EG-03/declarations", map[string]any{"available": 2, "installed": 24}, nil)
	if res.status != http.StatusOK {
		t.Fatalf("declare after reopening: %d %s", res.status, res.body)
	}
}

func TestConditionalRequests(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	u := c.do("GET", "/api/v1/units/77-EG-01", nil, nil)
	tag := u.header.Get("ETag")
	if !strings.HasPrefix(tag, `"2.`) {
		t.Fatalf("unit ETag %q, want its revision then the view's digest", tag)
	}
	if r := c.do("GET", "/api/v1/units/77-EG-01", nil, map[string]string{"If-None-Match": tag}); r.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	r := c.do("POST", "/api/v1/units/77-EG-01/declarations", map[string]any{"available": 1, "installed": 20}, map[string]string{"If-Match": tag})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("ETag"), `"3.`) {
		t.Fatalf("If-Match current: %d %s %s", r.status, r.header.Get("ETag"), r.body)
	}
	// The command's answer is the view GET gives: same body, same tag.
	g := c.do("GET", "/api/v1/units/77-EG-01", nil, nil)
	if g.header.Get("ETag") != r.header.Get("ETag") {
		t.Fatalf("command answered ETag %s, GET %s", r.header.Get("ETag"), g.header.Get("ETag"))
	}
	if cmdUnit, _ := json.Marshal(r.json["unit"]); string(cmdUnit) != strings.TrimSpace(string(mustCanon(t, []byte(g.body)))) {
		t.Fatalf("command answered\n%s\nGET\n%s", cmdUnit, g.body)
	}
	before := e.head()
	r = c.do("POST", "/api/v1/units/77-EG-01/declarations", map[string]any{"available": 2, "installed": 20}, map[string]string{"If-Match": tag})
	r.problem(t, http.StatusPreconditionFailed, "precondition_failed")
	if cur := r.json["current"].(map[string]any); cur["revision"].(float64) != 3 || cur["available"].(float64) != 1 {
		t.Fatalf("412 body lacks the current state: %s", r.body)
	}
	if e.head() != before {
		t.Fatal("a failed precondition appended")
	}
	// Wait for the projections to apply every write, so the two reads see one position.
	at := fmt.Sprintf("/api/v1/matrix?min_position=%d", e.head())
	m := c.do("GET", at, nil, nil)
	if m.header.Get("ETag") == "" || m.header.Get("Last-Modified") == "" {
		t.Fatalf("matrix lacks ETag/Last-Modified: %v", m.header)
	}
	if r := c.do("GET", at, nil, map[string]string{"If-None-Match": m.header.Get("ETag")}); r.status != http.StatusNotModified {
		t.Fatalf("matrix If-None-Match: %d", r.status)
	}
}

// mustCanon re-encodes a JSON body the way encoding/json writes a value.
func mustCanon(t *testing.T, body []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	key := map[string]string{"Idempotency-Key": "retry-me-1"}
	first := c.do("PUT", "/api/v1/units/77-EG-01/closure", map[string]any{"reason": "panne d'eau"}, key)
	if first.status != http.StatusOK {
		t.Fatalf("close: %d %s", first.status, first.body)
	}
	head := e.head()
	again := c.do("PUT", "/api/v1/units/77-EG-01/closure", map[string]any{"reason": "panne d'eau"}, key)
	if again.status != http.StatusOK || again.json["replayed"] != true || again.json["position"] != first.json["position"] {
		t.Fatalf("retry: %d %s", again.status, again.body)
	}
	if e.head() != head {
		t.Fatal("the retry appended")
	}
	// Without the key, closing a closed unit is a conflict.
	c.do("PUT", "/api/v1/units/77-EG-01/closure", map[string]any{"reason": "panne d'eau"}, nil).problem(t, http.StatusConflict, "conflict")
}

func TestMinPositionTimesOut(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleProfessionnel)
	start := time.Now()
	r := c.do("GET", "/api/v1/matrix?min_position=999999", nil, nil)
	r.problem(t, http.StatusServiceUnavailable, "unavailable")
	if r.header.Get("Retry-After") == "" || time.Since(start) > 5*time.Second {
		t.Fatalf("503 without Retry-After, or after %v", time.Since(start))
	}
}

func TestBackupEndpoint(t *testing.T) {
	e := newEnv(t)
	e.login(domain.RoleResponsable).do("GET", "/api/v1/backup", nil, nil).problem(t, http.StatusForbidden, "forbidden")
	r := e.login(domain.RoleAdmin).do("GET", "/api/v1/backup", nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("backup: %d %s", r.status, r.header)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, []byte(r.body), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("the backup does not open as a log: %v", err)
	}
	defer l.Close()
	if h, _ := l.Head(context.Background()); h != e.head() {
		t.Fatalf("backup head %d, log head %d", h, e.head())
	}
}

// A unit's band follows the clock even when the log is quiet.
func TestUnitBandFollowsTheClock(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	res := c.do("POST", "/api/v1/units/77-EG-01/declarations", map[string]any{"available": 1, "installed": 20}, nil)
	path := fmt.Sprintf("/api/v1/units/77-EG-01?min_position=%d", uint64(res.json["position"].(float64)))
	if b := c.do("GET", path, nil, nil).json["band"]; b != "1h" {
		t.Fatalf("band right after the declaration: %v", b)
	}
	e.clock.Add(2 * time.Hour)
	c = e.login(domain.RoleResponsable) // the session has idled out meanwhile
	if b := c.do("GET", path, nil, nil).json["band"]; b != "3h" {
		t.Fatalf("band two hours later: %v, want 3h", b)
	}
}
