package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pages' own: the API's requests are counted by httpapi.
type metrics struct {
	pages *prometheus.HistogramVec
}

func newMetrics(s *Server, reg *prometheus.Registry) *metrics {
	m := &metrics{pages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dispo_page_duration_seconds",
		Help:    "Web pages served, by route pattern, method and status code (live streams are counted when they end).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, .5, 2.5},
	}, []string{"route", "method", "code"})}
	if reg != nil {
		reg.MustRegister(m.pages, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dispo_live_streams",
			Help: "Live streams (Server-Sent Events) open to the pages, wall screens included.",
		}, func() float64 { return float64(s.Streams()) }))
	}
	return m
}

// statusWriter remembers the status for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the live
// stream flushes and lifts its write deadline through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// measured counts a request by the pattern it matched: a bounded label,
// whatever the unit ids and tokens in the paths.
func (s *Server) measured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			code := sw.status
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.pages.WithLabelValues(route, r.Method, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}
