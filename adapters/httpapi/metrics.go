package httpapi

import (
	"context"
	"strconv"
	"time"

	"dispo/domain"
	"dispo/projections"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests      *prometheus.HistogramVec
	loginFailures prometheus.Counter
	// viewWait is what answering commands from the read model costs: the
	// wait, after the durable append, for the projections to reach it.
	viewWait prometheus.Histogram
}

func newMetrics(s *Server, reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dispo_http_request_duration_seconds",
			Help:    "HTTP requests by route template, method and status code.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "code"}),
		loginFailures: s.cfg.LoginFailures,
		viewWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dispo_command_view_wait_seconds",
			Help:    "Wait, after a command's append, for the projections to reach it before answering.",
			Buckets: []float64{.00005, .0001, .0002, .0005, .001, .002, .005, .01, .025, .1, .5, 2},
		}),
	}
	if m.loginFailures == nil {
		m.loginFailures = NewLoginFailures()
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.requests, m.loginFailures, m.viewWait,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dispo_projection_position",
			Help: "Log position the projections have applied.",
		}, func() float64 { return float64(s.cfg.Live.Position()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dispo_projection_lag_events",
			Help: "Events stored in the log that the projections have not applied yet.",
		}, func() float64 {
			h, err := s.cfg.Log.Head(context.Background())
			if err != nil {
				return 0
			}
			return float64(h) - float64(s.cfg.Live.Position())
		}),
		&freshnessCollector{s: s},
	)
	return m
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// NewLoginFailures returns the counter of failed logins, for
// Config.LoginFailures. It exists before the Server so that the login
// machinery, which the Server is built with, can count into it
// (httpauth.Config.OnLoginFailure).
func NewLoginFailures() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dispo_login_failures_total",
		Help: "Failed logins (wrong credentials or throttled).",
	})
}

var (
	descBand = prometheus.NewDesc("dispo_units_by_freshness",
		"Units per freshness band (time since the last declaration) and department.", []string{"department", "band"}, nil)
	descOverdue = prometheus.NewDesc("dispo_units_overdue",
		"Open units overdue (last declaration 7 × 24 h old or more, or none), per department.", []string{"department"}, nil)
)

// freshnessCollector computes the bands at scrape time: they move with the
// clock, not only with the log.
type freshnessCollector struct{ s *Server }

func (c *freshnessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descBand; ch <- descOverdue }

func (c *freshnessCollector) Collect(ch chan<- prometheus.Metric) {
	var f projections.FreshnessReport
	c.s.cfg.Live.View(func(a *projections.Availability) { f = a.Freshness(c.s.cfg.Now()) })
	overdue := map[string]int{}
	for _, d := range f.Departments {
		overdue[d.Department] = 0
		for b, n := range d.Bands {
			ch <- prometheus.MustNewConstMetric(descBand, prometheus.GaugeValue, float64(n), d.Department, bandNames[b])
		}
	}
	for _, u := range f.Overdue {
		overdue[u.Department]++
	}
	for d, n := range overdue {
		ch <- prometheus.MustNewConstMetric(descOverdue, prometheus.GaugeValue, float64(n), d)
	}
}

// InstrumentLog wraps the log the Ledger appends to, counting events
// appended by type and timing appends (durable: the sync included).
func InstrumentLog(log domain.UnitLog, reg prometheus.Registerer) domain.UnitLog {
	il := &instrumentedLog{UnitLog: log,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispo_events_appended_total",
			Help: "Events appended to the log, by event type.",
		}, []string{"type"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dispo_append_duration_seconds",
			Help:    "Time to append to the log, until the events are on disk.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}),
	}
	for _, t := range domain.EventTypes() {
		il.events.WithLabelValues(t)
	}
	reg.MustRegister(il.events, il.latency)
	return il
}

type instrumentedLog struct {
	domain.UnitLog
	events  *prometheus.CounterVec
	latency prometheus.Histogram
}

func (l *instrumentedLog) Append(ctx context.Context, stream string, expected domain.ExpectedRevision, events []domain.Envelope) (domain.AppendResult, error) {
	start := time.Now()
	res, err := l.UnitLog.Append(ctx, stream, expected, events)
	l.latency.Observe(time.Since(start).Seconds())
	if err == nil && res.LastPosition-res.FirstPosition+1 == uint64(len(events)) {
		for i := range events {
			l.events.WithLabelValues(events[i].Type()).Inc()
		}
	}
	return res, err
}
