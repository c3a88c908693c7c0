package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"dispo/adapters/userfile"
	"dispo/domain"
	"dispo/projections"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// writeServer serves a copy of the log at path with a responsable
// habilitated for every open, unpooled unit, and the registry its metrics
// land in. The ceiling answers any POST with a constant body.
func writeServer(b *testing.B, path string) (url, token string, units []string, reg *prometheus.Registry) {
	reg = prometheus.NewRegistry()
	svc, users := serveCopy(b, path, reg)
	var finess []string
	svc.Live().View(func(a *projections.Availability) {
		for _, u := range a.Units() {
			if u.Closure == nil && u.Pool == nil {
				units = append(units, u.ID)
				if !slices.Contains(finess, u.FINESS) {
					finess = append(finess, u.FINESS)
				}
			}
		}
	})
	if err := users.Add(userfile.User{ID: "resp", Role: domain.RoleResponsable, Establishments: finess}, "a long enough password"); err != nil {
		b.Fatal(err)
	}
	token, err := users.NewToken("resp")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", svc.API())
	mux.HandleFunc("POST /ceiling/{unit}", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"constant":true}`)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv.URL, token, units, reg
}

// post runs clients that each POST declarations to their own unit for d.
func post(url, token string, units []string, clients int, d time.Duration, pathOf func(unit string) string) loadResult {
	return drive(clients, d, func(i, n int) *http.Request {
		req, _ := http.NewRequest("POST", url+pathOf(units[i%len(units)]),
			strings.NewReader(fmt.Sprintf(`{"available":%d,"installed":10,"closed_places":0}`, n%5)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return req
	})
}

// viewWait reads the count and sum of dispo_command_view_wait_seconds.
func viewWait(b *testing.B, reg *prometheus.Registry) (uint64, float64) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "dispo_command_view_wait_seconds" {
			var h *dto.Histogram = mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	b.Fatal("no dispo_command_view_wait_seconds")
	return 0, 0
}

// BenchmarkHTTPDeclarations: declarations over HTTP, each answered with the
// unit as the read model shows it once it reached the command's position,
// beside a constant POST handler on the same server. It reports the wait
// for the read model (mean, and its share of the mean answer time): the
// cost of answering commands from the one rendering of a unit.
func BenchmarkHTTPDeclarations(b *testing.B) {
	path := loadLog(b, 1_000)
	for _, clients := range []int{16, 64} {
		for _, target := range []string{"ceiling", "declare"} {
			b.Run(fmt.Sprintf("clients=%d/%s", clients, target), func(b *testing.B) {
				url, token, units, reg := writeServer(b, path)
				pathOf := func(u string) string { return "/api/v1/units/" + u + "/declarations" }
				if target == "ceiling" {
					pathOf = func(u string) string { return "/ceiling/" + u }
				}
				post(url, token, units, clients, 300*time.Millisecond, pathOf) // warm up
				n0, s0 := viewWait(b, reg)
				b.ResetTimer()
				var r loadResult
				for i := 0; i < b.N; i++ {
					r = post(url, token, units, clients, 3*time.Second, pathOf)
				}
				b.StopTimer()
				if r.errors > 0 {
					b.Fatalf("%d clients saw errors", r.errors)
				}
				b.ReportMetric(r.rate, "req/s")
				b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
				if n1, s1 := viewWait(b, reg); n1 > n0 {
					mean := (s1 - s0) / float64(n1-n0)
					b.ReportMetric(mean*1000, "view-wait-ms")
					b.ReportMetric(mean*r.rate/float64(clients), "view-wait-share")
				}
			})
		}
	}
}
