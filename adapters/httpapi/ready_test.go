package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"dispo/domain"
)

// servedUnready are the routes that answer while the projections catch up:
// they read neither the projections nor append. Any other route, one added
// later included, must answer 503.
var servedUnready = map[string]bool{
	"GET /healthz": true, "HEAD /healthz": true, "GET /readyz": true, "HEAD /readyz": true,
	"POST /api/v1/session": true, "GET /api/v1/session": true, "DELETE /api/v1/session": true,
	"GET /api/v1/backup": true,
}

// Until the projections are ready, every command and query answers 503
// not_ready with Retry-After and the reason, and nothing is appended: while
// they catch up (a Live that has not followed yet), and for good past a
// damaged record.
func TestNotReadyRefusesCommandsAndQueries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   envOptions
		reason string
	}{
		{"catching up", envOptions{}, "rattrapent le journal"},
		{"damaged record", envOptions{follow: true, damaged: true}, "arrêtées à la position"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, tc.opts)
			deadline := time.Now().Add(10 * time.Second)
			for err := e.live.Readiness(); err == nil || !strings.Contains(err.Error(), tc.reason); err = e.live.Readiness() {
				if time.Now().After(deadline) {
					t.Fatalf("readiness %v, want ...%s...", err, tc.reason)
				}
				time.Sleep(5 * time.Millisecond)
			}
			reason := e.live.Readiness().Error()
			head := e.head()
			resp := e.login(domain.RoleResponsable) // the session is served
			admin := e.login(domain.RoleAdmin)

			// A declaration that would append.
			res := resp.do("POST", badDecl, map[string]any{"available": 3, "installed": 20}, nil)
			res.problem(t, http.StatusServiceUnavailable, "not_ready")
			if res.header.Get("Retry-After") == "" || res.json["detail"] != reason {
				t.Fatalf("Retry-After %q, detail %v, want the readiness %q", res.header.Get("Retry-After"), res.json["detail"], reason)
			}

			for _, wr := range walkRoutes(t, e) {
				if servedUnready[wr.name] {
					continue
				}
				q := badReq{method: wr.method, path: wr.path}
				if wr.hasBody {
					q.body = `{}`
				}
				res := badSend(t, admin, q)
				res.problem(t, http.StatusServiceUnavailable, "not_ready")
				if res.header.Get("Retry-After") == "" || res.json["detail"] != reason {
					t.Fatalf("%s: Retry-After %q, detail %v", wr.name, res.header.Get("Retry-After"), res.json["detail"])
				}
			}
			if h := e.head(); h != head {
				t.Fatalf("the head moved %d -> %d while not ready", head, h)
			}

			if res := admin.do("GET", "/healthz", nil, nil); res.status != http.StatusOK {
				t.Fatalf("healthz: %d %s", res.status, res.body)
			}
			res = admin.do("GET", "/readyz", nil, nil)
			res.problem(t, http.StatusServiceUnavailable, "not_ready")
			if !strings.Contains(res.body, reason) || res.header.Get("Retry-After") == "" {
				t.Fatalf("readyz: %s, want the reason %q and Retry-After", res.body, reason)
			}
			if res := admin.do("GET", "/api/v1/backup", nil, nil); res.status != http.StatusOK {
				t.Fatalf("backup while not ready: %d", res.status)
			}
		})
	}
}

// Once ready, readyz says so and the same declaration is accepted.
func TestReadyServes(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	if res := c.do("GET", "/readyz", nil, nil); res.status != http.StatusOK || res.body != "ready\n" {
		t.Fatalf("readyz: %d %q", res.status, res.body)
	}
	if res := c.do("POST", badDecl, map[string]any{"available": 3, "installed": 20}, nil); res.status != http.StatusOK {
		t.Fatalf("declare: %d %s", res.status, res.body)
	}
}
