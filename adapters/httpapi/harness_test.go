package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/adapters/fixturegen"
	"dispo/adapters/httpapi"
	"dispo/adapters/userfile"
	"dispo/cmd/dispo/app"
	"dispo/domain"
	"dispo/projections"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock is the injectable clock of a test server.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a running API, wired by app.Service as dispo serve wires it: a
// real bbolt log, real user file, real server on 127.0.0.1.
type env struct {
	t     *testing.T
	url   string
	log   *boltlog.Log
	live  *projections.Live
	clock *fakeClock
	users *userfile.Store
	api   *httpapi.Server
}

// The seed's establishment and a second one.
const (
	finessEG    = fixturegen.Seed77FINESS
	finessOther = "750000017"
	password    = "correct horse battery staple"
)

// newEnv serves the seed-77 log plus a unit of another establishment, with
// one user per role.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvWith(t, envOptions{follow: true})
	e.waitReady()
	return e
}

// envOptions make an env whose projections are not ready.
type envOptions struct {
	// follow: the projections follow the log. Without, they stay at
	// position 0, not ready, as while they catch up.
	follow bool
	// damaged appends a last unit whose record is then damaged on disk:
	// the projections stop before it, for good.
	damaged bool
}

// damageMarker names the unit whose record is damaged: the bytes flipped.
const damageMarker = "marqueur-de-dommage"

func newEnvWith(t *testing.T, opts envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	log, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	seed := fixturegen.Seed77()
	for _, e := range seed {
		if _, err := log.Append(context.Background(), e.Stream, domain.Exact(int64(e.Revision)-1), []domain.Envelope{e}); err != nil {
			t.Fatal(err)
		}
	}
	clock := &fakeClock{t: time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC)}
	other := domain.Envelope{ID: domain.EventID(uuid.New()), Stream: domain.UnitStream("75-OTHER-01"), SchemaVersion: 1,
		RecordedAt: clock.Now(), Source: domain.SourceImport, Actor: domain.Actor{UserID: "admin", Role: domain.RoleAdmin},
		Event: domain.UnitRegistered{Unit: domain.Unit{ID: "75-OTHER-01", FINESS: finessOther, Establishment: "Autre hôpital",
			Department: "75", Type: "centre_lourd", Name: "Centre lourd"}}}
	if _, err := log.Append(context.Background(), other.Stream, domain.NoStream, []domain.Envelope{other}); err != nil {
		t.Fatal(err)
	}
	if opts.damaged {
		log = appendDamaged(t, log, path)
	}
	users, err := userfile.Open(filepath.Join(dir, "users.json"), userfile.Options{Now: clock.Now, Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []domain.Role{domain.RoleResponsable, domain.RoleProfessionnel, domain.RoleAnalyst, domain.RoleAuditor, domain.RoleAdmin} {
		u := userfile.User{ID: string(role), Role: role}
		if role == domain.RoleResponsable {
			u.Establishments = []string{finessEG}
		}
		if err := users.Add(u, password); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := app.New(context.Background(), app.Config{Log: log, Users: users, DataDir: dir, Now: clock.Now,
		Registry: prometheus.NewRegistry(), MaxWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if opts.follow {
		if err := svc.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	api := svc.API()
	srv := httptest.NewUnstartedServer(api)
	srv.Start() // httptest listens on 127.0.0.1:0
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, log: log, live: svc.Live(), clock: clock, users: users, api: api}
}

// appendDamaged appends a unit named damageMarker and another, closes the log, flips a
// bit of every copy of the name in the file (copy-on-write leaves stale
// pages behind: see projections' TestLiveNotReadyPastADamagedRecord) and
// opens it again, read-only: opening for writes checks the records after
// the last checkpoint and refuses the file, while a server can be left
// reading a log damaged under it.
func appendDamaged(t *testing.T, log *boltlog.Log, path string) *boltlog.Log {
	t.Helper()
	dmg := domain.Envelope{ID: domain.EventID(uuid.New()), Stream: domain.UnitStream("77-DMG-01"), SchemaVersion: 1,
		RecordedAt: time.Date(2025, 3, 6, 14, 0, 0, 0, time.UTC), Source: domain.SourceImport, Actor: domain.Actor{UserID: "admin", Role: domain.RoleAdmin},
		Event: domain.UnitRegistered{Unit: domain.Unit{ID: "77-DMG-01", FINESS: finessEG, Establishment: "EG",
			Department: "77", Type: "udm", Name: damageMarker}}}
	// A unit after it: the log's last record is checked at open.
	after := dmg
	after.ID, after.Stream = domain.EventID(uuid.New()), domain.UnitStream("77-DMG-02")
	after.Event = domain.UnitRegistered{Unit: domain.Unit{ID: "77-DMG-02", FINESS: finessEG, Establishment: "EG",
		Department: "77", Type: "udm", Name: "après"}}
	for _, e := range []domain.Envelope{dmg, after} {
		if _, err := log.Append(context.Background(), e.Stream, domain.NoStream, []domain.Envelope{e}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	eventlogtest.FlipEvery(t, path, damageMarker)
	log, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return log
}

func (e *env) waitReady() {
	deadline := time.Now().Add(10 * time.Second)
	for !e.live.Ready() {
		if time.Now().After(deadline) {
			e.t.Fatal("projections never caught up")
		}
		time.Sleep(time.Millisecond)
	}
}

func (e *env) head() uint64 {
	h, err := e.log.Head(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// client is a logged-in user (or an anonymous one if role is "").
type client struct {
	e    *env
	http *http.Client
	csrf string
	role domain.Role
}

func (e *env) login(role domain.Role) *client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{e: e, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}, role: role}
	if role == "" {
		return c
	}
	res := c.do("POST", "/api/v1/session", map[string]string{"identifier": string(role), "password": password}, nil)
	if res.status != http.StatusCreated {
		e.t.Fatalf("login as %s: %d %s", role, res.status, res.body)
	}
	c.csrf = res.json["csrf_token"].(string)
	return c
}

type response struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

// do sends a request; body is JSON-encoded unless it is a string (sent as is).
func (c *client) do(method, path string, body any, header map[string]string) response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.e.url+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, body: string(b)}
	json.Unmarshal(b, &r.json)
	return r
}

// problem checks r is an RFC 9457 problem with status and code.
func (r response) problem(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status || r.json["code"] != code || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("got %d %s %q, want %d problem+json with code %q", r.status, r.header.Get("Content-Type"), r.body, status, code)
	}
	if int(r.json["status"].(float64)) != status || r.json["title"] == "" || r.json["type"] == "" {
		t.Fatalf("problem lacks RFC 9457 members: %s", r.body)
	}
}
