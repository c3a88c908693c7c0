package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The admin commands reach a running dispo serve through its socket in the
// data directory: logout ends the sessions of a user at once, passwd ends
// them too, unlock clears the throttle, and each says what it did.
func TestAdminCommandsReachTheRunningServer(t *testing.T) {
	r := newCrashRig(t, 3)
	c := r.start()
	defer c.kill()
	login := func() (int, string) {
		body, _ := json.Marshal(map[string]string{"identifier": "crash-00", "password": crashPassword})
		res, err := http.Post(c.base+"/api/v1/session", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, strings.SplitN(res.Header.Get("Set-Cookie"), ";", 2)[0]
	}
	me := func(cookie string) int {
		req, _ := http.NewRequest("GET", c.base+"/api/v1/session", nil)
		req.Header.Set("Cookie", cookie)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	code, cookie := login()
	if code != 201 || me(cookie) != 200 {
		t.Fatalf("login: %d, session %d", code, me(cookie))
	}
	out := mustDispo(t, "users", "logout", "crash-00", "--data", r.data)
	if !strings.Contains(out, "1 session terminée") {
		t.Fatalf("users logout said %q", out)
	}
	if got := me(cookie); got != http.StatusUnauthorized {
		t.Fatalf("session after users logout: %d", got)
	}

	_, cookie = login()
	out = mustDispoIn(t, "un-autre-mot-de-passe-long\n", "users", "passwd", "crash-00", "--data", r.data)
	if !strings.Contains(out, "session terminée") {
		t.Fatalf("users passwd said %q", out)
	}
	if got := me(cookie); got != http.StatusUnauthorized {
		t.Fatalf("session after users passwd: %d", got)
	}

	if out := mustDispo(t, "users", "unlock", "crash-00", "--data", r.data); !strings.Contains(out, "crash-00") {
		t.Fatalf("users unlock said %q", out)
	}
	if err := c.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if out := mustDispo(t, "users", "logout", "crash-00", "--data", r.data); !strings.Contains(out, "aucun serveur") {
		t.Fatalf("users logout with no server said %q", out)
	}
}
