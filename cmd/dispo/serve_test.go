package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"dispo/adapters/boltlog"
)

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeDemo runs `dispo serve --demo` as make run does, on 127.0.0.1:0:
// demo data and accounts, a login with a printed password, a declaration
// read back through the matrix, health, readiness and metrics, then a
// graceful shutdown that lets a request in flight finish and releases the log.
func TestServeDemo(t *testing.T) {
	data := t.TempDir()
	var out, errOut syncBuffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Now: time.Now, Getenv: func(string) string { return "" }}
	ready, metricsReady := make(chan string, 1), make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, env, serveConfig{data: data, addr: "127.0.0.1:0", metricsAddr: "127.0.0.1:0", demo: true,
			shutdown: 5 * time.Second, ready: ready, metricsReady: metricsReady})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve ended: %v\n%s", err, errOut.String())
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start")
	}
	base := "http://" + addr
	if !strings.Contains(out.String(), "dispo is serving") || !strings.Contains(out.String(), base) || !strings.Contains(out.String(), base+"/fhir/metadata") {
		t.Fatalf("start-up message lacks the URLs:\n%s", out.String())
	}
	m := regexp.MustCompile(`demo-responsable\s+password (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no demo password printed:\n%s", out.String())
	}

	get := func(path string, hdr http.Header) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("/readyz", nil); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := get("/healthz", nil); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}

	login, _ := json.Marshal(map[string]string{"identifier": "demo-responsable", "password": m[1]})
	res, err := http.Post(base+"/api/v1/session", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	var session struct {
		CSRF           string   `json:"csrf_token"`
		Establishments []string `json:"establishments"`
	}
	json.NewDecoder(res.Body).Decode(&session)
	res.Body.Close()
	if res.StatusCode != 201 || len(session.Establishments) != 1 {
		t.Fatalf("login: %d %+v", res.StatusCode, session)
	}
	cookie := res.Header.Get("Set-Cookie")
	hdr := http.Header{"Cookie": {strings.SplitN(cookie, ";", 2)[0]}}

	// Declare on the first unit of the responsable's establishment.
	code, body := get("/api/v1/units?establishment="+session.Establishments[0], hdr)
	var list struct {
		Units []struct {
			ID        string `json:"unit_id"`
			Installed int    `json:"installed"`
		} `json:"units"`
	}
	json.Unmarshal([]byte(body), &list)
	if code != 200 || len(list.Units) == 0 {
		t.Fatalf("units: %d %s", code, body)
	}
	u := list.Units[0]
	req, _ := http.NewRequest("POST", base+"/api/v1/units/"+u.ID+"/declarations",
		strings.NewReader(fmt.Sprintf(`{"available":%d,"installed":%d,"closed_places":0}`, u.Installed, u.Installed)))
	req.Header = hdr.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", session.CSRF)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var cmd struct{ Position uint64 }
	json.NewDecoder(res.Body).Decode(&cmd)
	res.Body.Close()
	if res.StatusCode != 200 || cmd.Position == 0 {
		t.Fatalf("declare: %d", res.StatusCode)
	}
	if code, body := get(fmt.Sprintf("/api/v1/units/%s?min_position=%d", u.ID, cmd.Position), hdr); code != 200 ||
		!strings.Contains(body, fmt.Sprintf(`"available":%d`, u.Installed)) {
		t.Fatalf("read own write: %d %s", code, body)
	}
	// Metrics are on their own listener: the public address does not tell
	// per-department freshness and login failures.
	if code, _ := get("/metrics", nil); code != http.StatusNotFound {
		t.Fatalf("/metrics on the public address: %d", code)
	}
	metricsBase := "http://" + <-metricsReady
	if !strings.Contains(out.String(), metricsBase+"/metrics") {
		t.Fatalf("start-up message lacks the metrics URL:\n%s", out.String())
	}
	if code, body := getFrom(t, metricsBase+"/metrics"); code != 200 ||
		!strings.Contains(body, `dispo_http_request_duration_seconds_count{code="200",method="POST",route="/api/v1/units/{id}/declarations"} 1`) ||
		!strings.Contains(body, `dispo_events_appended_total{type="availability.declared"} 1`) ||
		!strings.Contains(body, "dispo_units_by_freshness{band=") {
		t.Fatalf("metrics lack the expected series (%d):\n%s", code, body)
	}

	// A request in flight when the signal comes still gets its answer.
	inflight := make(chan int, 1)
	go func() {
		code, _ := get(fmt.Sprintf("/api/v1/matrix?min_position=%d", cmd.Position+1000), hdr)
		inflight <- code
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case code := <-inflight:
		if code != http.StatusServiceUnavailable {
			t.Fatalf("in-flight request got %d, want its 503 after the bounded wait", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	l, err := boltlog.Open(logFile(data), boltlog.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("the log was not released: %v", err)
	}
	l.Close()

	// A second start on the same data neither reloads the demo nor re-creates accounts.
	out2 := &syncBuffer{}
	env.Stdout = out2
	ctx2, cancel2 := context.WithCancel(context.Background())
	ready2 := make(chan string, 1)
	go func() {
		served <- serve(ctx2, env, serveConfig{data: data, addr: "127.0.0.1:0", demo: true, shutdown: time.Second, ready: ready2})
	}()
	<-ready2
	cancel2()
	<-served
	if strings.Contains(out2.String(), "demo:") || strings.Contains(out2.String(), "password") {
		t.Fatalf("second start reloaded the demo:\n%s", out2.String())
	}
}

func TestServeFlags(t *testing.T) {
	code, out, errOut := dispo(t, "", "serve", "--help")
	if code != 0 || !strings.Contains(out+errOut, "-demo") || !strings.Contains(out+errOut, "DISPO_ADDR") {
		t.Fatalf("serve --help: %d %s", code, out+errOut)
	}
	if code, _, errOut := dispo(t, "", "serve", "--addr", "256.0.0.1:99999", "--data", t.TempDir()); code != 1 || errOut == "" {
		t.Fatalf("bad address: exit %d %q", code, errOut)
	}
}

func getFrom(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
