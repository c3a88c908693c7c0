package httpauth_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"dispo/adapters/adminsock"
	"dispo/adapters/httpauth"
	"dispo/domain"
)

// The admin commands over a real unix socket, on real sessions.
func TestAdminRoutesOverTheSocket(t *testing.T) {
	f := newFixture(t, false, proxied)
	dir, err := os.MkdirTemp("", "ha") // short: the unix path limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	mux := http.NewServeMux()
	f.auth.AdminRoutes(mux)
	s, err := adminsock.Start(adminsock.PathIn(dir), mux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := adminsock.NewClient(s.Path())

	a1, _ := f.mustLogin("alice")
	a2, _ := f.mustLogin("alice")
	b, _ := f.mustLogin("bob")
	var out httpauth.AdminLogout
	if err := c.Post(t.Context(), "/v1/users/alice/logout", &out); err != nil || out != (httpauth.AdminLogout{"alice", 2}) {
		t.Fatalf("logout: %+v, %v", out, err)
	}
	for cookie, want := range map[string]int{a1: 401, a2: 401, b: 200} {
		if res := f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}); res.status != want {
			t.Errorf("got %d, want %d", res.status, want)
		}
	}

	for i := range 5 {
		f.loginFrom(fmt.Sprintf("192.0.2.%d", i), "bob", "wrong password")
	}
	expectThrottled(t, "bob attacked", f.loginFrom("198.51.100.1", "bob", pw), 1)
	var un httpauth.AdminUnlock
	if err := c.Post(t.Context(), "/v1/users/bob/unlock", &un); err != nil || un != (httpauth.AdminUnlock{"bob", 1}) {
		t.Fatalf("unlock: %+v, %v", un, err)
	}
	expect(t, "bob after unlock", f.loginFrom("198.51.100.1", "bob", pw), 201, "")
	if err := c.Post(t.Context(), "/v1/users/bob/unlock", &un); err != nil || un.KeysCleared != 0 {
		t.Fatalf("unlock again: %+v, %v", un, err)
	}
	if err := c.Post(t.Context(), "/v1/users/a%20b/logout", nil); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("a bad identifier: %v", err)
	}
}
