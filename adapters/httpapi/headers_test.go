package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"dispo/domain"
)

// Answers of the API are for the caller alone and revalidated before
// reuse; every answer says nosniff; problems are never stored.
func TestAnswersArePrivateAndRevalidate(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	private := func(what string, res response) {
		t.Helper()
		if got := res.header.Get("Cache-Control"); got != "private, no-cache" {
			t.Fatalf("%s: Cache-Control %q, want private, no-cache", what, got)
		}
		if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Fatalf("%s: X-Content-Type-Options %q, want nosniff", what, got)
		}
	}
	m := c.do("GET", "/api/v1/matrix", nil, nil)
	private("matrix", m)
	tag := m.header.Get("ETag")
	if m.status != http.StatusOK || tag == "" {
		t.Fatalf("matrix: %d, ETag %q", m.status, tag)
	}
	again := c.do("GET", "/api/v1/matrix", nil, map[string]string{"If-None-Match": tag})
	if again.status != http.StatusNotModified {
		t.Fatalf("matrix If-None-Match: %d", again.status)
	}
	private("matrix 304", again)

	u := c.do("GET", "/api/v1/units/77-EG-01", nil, nil)
	private("unit", u)
	if r := c.do("GET", "/api/v1/units/77-EG-01", nil, map[string]string{"If-None-Match": u.header.Get("ETag")}); r.status != http.StatusNotModified {
		t.Fatalf("unit If-None-Match: %d", r.status)
	}

	d := c.do("POST", badDecl, map[string]any{"available": 2, "installed": 20}, nil)
	if d.status != http.StatusOK {
		t.Fatalf("declare: %d %s", d.status, d.body)
	}
	private("command", d)
	// After a write, revalidation gets the new answer, not a 304.
	fresh := c.do("GET", fmt.Sprintf("/api/v1/matrix?min_position=%d", e.head()), nil, map[string]string{"If-None-Match": tag})
	if fresh.status != http.StatusOK || fresh.header.Get("ETag") == tag {
		t.Fatalf("matrix after a write: %d, ETag %q (was %q)", fresh.status, fresh.header.Get("ETag"), tag)
	}
	private("matrix after a write", fresh)

	p := c.do("GET", "/api/v1/units/NOPE-1", nil, nil)
	p.problem(t, http.StatusNotFound, "not_found")
	if p.header.Get("Cache-Control") != "no-store" || p.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("problem: Cache-Control %q, X-Content-Type-Options %q", p.header.Get("Cache-Control"), p.header.Get("X-Content-Type-Options"))
	}
	for _, path := range []string{"/healthz", "/no/such/path"} {
		if r := c.do("GET", path, nil, nil); r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: X-Content-Type-Options %q", path, r.header.Get("X-Content-Type-Options"))
		}
	}
}

// /metrics is not on the API's listener; Metrics serves the registry on
// whichever listener the operator gives it.
func TestMetricsOffThePublicRouter(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleAdmin)
	c.do("GET", "/api/v1/matrix", nil, nil)
	c.do("GET", "/metrics", nil, nil).problem(t, http.StatusNotFound, "not_found")

	srv := httptest.NewServer(e.api.Metrics())
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d %s", res.StatusCode, body)
	}
	for _, want := range []string{`dispo_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/matrix"}`, "dispo_projection_position", "dispo_units_by_freshness"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
