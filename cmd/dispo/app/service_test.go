package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/userfile"
	"dispo/cmd/dispo/app"
	"dispo/domain"

	"github.com/prometheus/client_golang/prometheus"
)

// logBuffer collects what a Service logs, for the goroutines of both.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is what a Service is built on: a log of 11 events and a user store
// in a data directory.
type rig struct {
	dir   string
	log   *boltlog.Log
	users *userfile.Store
	logs  *logBuffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{dir: dir, log: openLog(t, filepath.Join(dir, "events.db"), 10, ""), logs: &logBuffer{}}
	users, err := userfile.Open(filepath.Join(dir, "users.json"), userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Add(userfile.User{ID: "admin", Role: domain.RoleAdmin}, "a long enough password"); err != nil {
		t.Fatal(err)
	}
	r.users = users
	return r
}

func (r *rig) config() app.Config {
	return app.Config{Log: r.log, Users: r.users, DataDir: r.dir, Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(r.logs, nil))}
}

func mustNew(t *testing.T, cfg app.Config) *app.Service {
	t.Helper()
	s, err := app.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	r := newRig(t)
	for name, edit := range map[string]func(*app.Config){
		"no log":      func(c *app.Config) { c.Log = nil },
		"no users":    func(c *app.Config) { c.Users = nil },
		"no data dir": func(c *app.Config) { c.DataDir = "" },
	} {
		cfg := r.config()
		edit(&cfg)
		if _, err := app.New(t.Context(), cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// Run follows the log; Close stops, saves, and is idempotent; the next
// Service on the directory resumes from the save.
func TestServiceRunCloseResume(t *testing.T) {
	r := newRig(t)
	left := filepath.Join(r.dir, ".projections-123")
	if err := os.WriteFile(left, []byte("half a save"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, r.config())
	if s.Live().Ready() {
		t.Fatal("ready before Run")
	}
	if _, err := os.Stat(left); err != nil {
		t.Fatalf("New removed a half-saved snapshot before Run: %v", err)
	}
	if err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(t.Context()); err == nil {
		t.Fatal("a second Run was accepted")
	}
	eventually(t, "Ready", s.Live().Ready)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("Run left the half-saved snapshot: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Run(t.Context()); err == nil {
		t.Fatal("Run after Close was accepted")
	}
	if _, err := os.Stat(filepath.Join(r.dir, "projections.snap")); err != nil {
		t.Fatalf("no snapshot saved at Close: %v", err)
	}

	again := mustNew(t, r.config())
	if p := again.Live().Position(); p != 11 {
		t.Fatalf("resumed at position %d, want 11", p)
	}
	if !strings.Contains(r.logs.String(), "projections resumed from their snapshot") {
		t.Fatalf("no resume logged:\n%s", r.logs)
	}
}

// A Service never run saves nothing at Close: another server may own the
// directory.
func TestServiceCloseWithoutRun(t *testing.T) {
	r := newRig(t)
	s := mustNew(t, r.config())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "projections.snap")); !os.IsNotExist(err) {
		t.Fatalf("a snapshot was saved without Run: %v", err)
	}
}

// The periodic seal is appended when the log moved, stamped by the
// injected clock, and not again while it did not.
func TestServiceSealsPeriodically(t *testing.T) {
	r := newRig(t)
	stamp := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
	cfg := r.config()
	cfg.SealEvery = 20 * time.Millisecond
	cfg.Now = func() time.Time { return stamp }
	s := mustNew(t, cfg)
	if err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	head := func() uint64 { h, _ := r.log.Head(context.Background()); return h }
	eventually(t, "a seal", func() bool { return head() == 12 })
	time.Sleep(100 * time.Millisecond)
	if h := head(); h != 12 {
		t.Fatalf("head %d after a sealed log stood still, want 12", h)
	}
	seals, err := r.log.ReadStreamForward(context.Background(), domain.SealStream, 0, 10)
	if err != nil || len(seals) != 1 || !seals[0].RecordedAt.Equal(stamp) || seals[0].Actor.Role != domain.RoleSystem {
		t.Fatalf("seals %+v (%v), want one by the system at %v", seals, err, stamp)
	}
}

// Logins answer through the API's problems and count their failures in the
// API's metrics, though built before it.
func TestServiceLoginFailuresAreProblemsAndCounted(t *testing.T) {
	r := newRig(t)
	cfg := r.config()
	s := mustNew(t, cfg)
	srv := httptest.NewServer(s.API())
	defer srv.Close()
	res, err := http.Post(srv.URL+"/api/v1/session", "application/json",
		strings.NewReader(`{"identifier":"admin","password":"not the password"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(string(body), `"title":"Identification requise"`) {
		t.Fatalf("failed login: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if v := counterValue(t, cfg.Registry, "dispo_login_failures_total"); v != 1 {
		t.Fatalf("dispo_login_failures_total = %v, want 1", v)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
