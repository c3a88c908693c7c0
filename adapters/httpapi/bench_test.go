package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/userfile"
	"dispo/cmd/dispo/app"
	"dispo/domain"
	"dispo/projections"

	"github.com/prometheus/client_golang/prometheus"
)

// loadLog returns a log of the default Île-de-France units holding events
// events (built once per machine in the temp dir).
func loadLog(b *testing.B, events int) string {
	cfg := fixturegen.DefaultIleDeFrance()
	cfg.Events = events
	path, err := fixturegen.CachedLog(context.Background(), cfg, os.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return path
}

// serveCopy runs a Service over a copy of the log at path (so that the
// benchmark's declarations do not grow the cached file), its metrics in reg
// (nil: its own), ready, with an empty user store.
func serveCopy(b *testing.B, path string, reg *prometheus.Registry) (*app.Service, *userfile.Store) {
	dir := b.TempDir()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	copyPath := filepath.Join(dir, "events.db")
	if err := os.WriteFile(copyPath, data, 0o600); err != nil {
		b.Fatal(err)
	}
	log, err := boltlog.Open(copyPath, boltlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Close() })
	users, err := userfile.Open(filepath.Join(dir, "users.json"), userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := app.New(context.Background(), app.Config{Log: log, Users: users, DataDir: dir, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	if err := svc.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	for !svc.Live().Ready() {
		time.Sleep(time.Millisecond)
	}
	return svc, users
}

// benchServer serves the log at path (a copy, so the writer's declarations
// do not grow the cached file) with the constant ceiling handler beside the API.
func benchServer(b *testing.B, path string) (url, token, unit string) {
	svc, users := serveCopy(b, path, nil)
	var finess string
	svc.Live().View(func(a *projections.Availability) {
		for _, u := range a.Units() {
			if u.Department == "77" && u.Closure == nil && u.Pool == nil {
				finess, unit = u.FINESS, u.ID
				break
			}
		}
	})
	if err := users.Add(userfile.User{ID: "resp", Role: domain.RoleResponsable, Establishments: []string{finess}}, "a long enough password"); err != nil {
		b.Fatal(err)
	}
	token, err := users.NewToken("resp")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", svc.API())
	mux.HandleFunc("/ceiling", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"constant":true}`)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv.URL, token, unit
}

type loadResult struct {
	rate     float64
	p50, p99 time.Duration
	errors   int
}

// load sends GET path from clients goroutines over keep-alive connections
// for d (bounded: at most 1,000,000 requests), only to the loopback server.
func load(b *testing.B, url, token, path string, clients int, d time.Duration) loadResult {
	return drive(clients, d, func(int, int) *http.Request {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	})
}

// drive sends the requests next makes (client i's n-th) from clients
// goroutines over keep-alive connections for d, at most 1,000,000 in all,
// and measures them; any answer but 200 counts as an error.
func drive(clients int, d time.Duration, next func(i, n int) *http.Request) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	lat := make([][]time.Duration, clients)
	var errs sync.Map
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	const maxRequests = 1_000_000
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < maxRequests/clients && time.Now().Before(stop); n++ {
				req := next(i, n)
				t0 := time.Now()
				res, err := c.Do(req)
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				lat[i] = append(lat[i], time.Since(t0))
				if err != nil || res.StatusCode != 200 {
					errs.Store(i, true)
				}
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := loadResult{rate: float64(len(all)) / time.Since(start).Seconds()}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	errs.Range(func(any, any) bool { r.errors++; return true })
	return r
}

// declare appends rate declarations per second until ctx ends.
func declare(ctx context.Context, b *testing.B, url, token, unit string, rate int) *int {
	n := new(int)
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			req, _ := http.NewRequest("POST", url+"/api/v1/units/"+unit+"/declarations",
				strings.NewReader(fmt.Sprintf(`{"available":%d,"installed":10,"closed_places":0}`, i%5)))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if res, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					*n++
				}
			}
		}
	}()
	return n
}

// BenchmarkHTTPReads: GET matrix and department detail under 50
// declarations/s, on a 1k- and a 1M-event log, beside a constant handler on
// the same server. Goal: >= 10,000 req/s with p99 <= 2 ms on 2 cores. The
// load generator runs in the same process, on the same 2 cores.
func BenchmarkHTTPReads(b *testing.B) {
	for _, events := range []int{1_000, 1_000_000} {
		if testing.Short() && events > 1000 {
			continue
		}
		path := loadLog(b, events)
		for _, target := range []struct{ name, path string }{
			{"ceiling", "/ceiling"},
			{"matrix", "/api/v1/matrix"},
			{"detail77", "/api/v1/departments/77/rows?row=dialyse"},
		} {
			b.Run(fmt.Sprintf("log=%d/%s", events, target.name), func(b *testing.B) {
				url, token, unit := benchServer(b, path)
				ctx, cancel := context.WithCancel(context.Background())
				declared := declare(ctx, b, url, token, unit, 50)
				load(b, url, token, target.path, 8, 300*time.Millisecond) // warm up
				b.ResetTimer()
				var r loadResult
				for i := 0; i < b.N; i++ {
					r = load(b, url, token, target.path, 8, 3*time.Second)
				}
				b.StopTimer()
				cancel()
				if r.errors > 0 {
					b.Fatalf("%d clients saw errors", r.errors)
				}
				b.ReportMetric(r.rate, "req/s")
				b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(*declared), "declarations")
			})
		}
	}
}
