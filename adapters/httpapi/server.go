// Package httpapi is dispo's JSON API over gorilla/mux: commands on units
// through the domain's Ledger, queries on the live projections, RFC 9457
// problems for every refusal, and Prometheus metrics labelled by route
// template.
package httpapi

import (
	"context"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dispo/domain"
	"dispo/projections"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Authenticator is what the server needs of the login machinery
// (adapters/httpauth): a middleware that puts the principal in the request
// context, and the session endpoints.
type Authenticator interface {
	Middleware(next http.Handler) http.Handler
	LoginHandler() http.Handler
	LogoutHandler() http.Handler
	MeHandler() http.Handler
}

// Head is what readiness and lag need of the log.
type Head interface {
	Head(ctx context.Context) (uint64, error)
}

// StreamReader is what histories and as-of queries need of the log.
type StreamReader interface {
	ReadStreamForward(ctx context.Context, stream string, from uint64, max int) ([]domain.Envelope, error)
	ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// Config wires a Server.
type Config struct {
	Ledger    *domain.Ledger
	Live      *projections.Live
	Log       Head
	Streams   StreamReader // unit histories and ?at= queries; nil serves none
	Auth      Authenticator
	Principal func(ctx context.Context) (domain.Principal, bool)
	Now       func() time.Time // the clock: freshness bands, Date headers
	Logger    *slog.Logger
	Registry  *prometheus.Registry // metrics are registered here; nil for none
	// LoginFailures, from NewLoginFailures, is registered with the other
	// metrics; nil: the Server makes its own, which no login counts into.
	LoginFailures prometheus.Counter
	// MaxWait bounds how long ?min_position= waits for the projections.
	MaxWait time.Duration
	// Backup, if set, writes a consistent copy of the log while it runs:
	// GET /api/v1/backup, for admins.
	Backup func(w io.Writer) (int64, error)
	// Seal, if set, appends a seal committing to every stream's head:
	// POST /api/v1/seal, for admins (see domain.LogSealed).
	Seal func(ctx context.Context, env domain.Envelope) (domain.AppendResult, error)
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	router  *mux.Router
	metrics *metrics

	// cache keeps rendered answers of the current position: see render.
	cache *answerCache
	// declared is every route's endpoint, for the tests that walk the
	// router (see routes.go).
	declared map[*mux.Route]endpoint
	// keys remembers what each Idempotency-Key was first sent with.
	keys *keyStore
}

// New returns a Server with its routes.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger, router: mux.NewRouter(), cache: newAnswerCache(maxCachedBytes),
		declared: map[*mux.Route]endpoint{}, keys: newKeyStore(maxIdempotencyKeys)}
	s.metrics = newMetrics(s, cfg.Registry)
	s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Metrics serves the registry of Config.Registry (404 without one). It is
// not on the API's router: it tells how the service is used and by how
// many, so it belongs on a listener of its own that only the scraper
// reaches (dispo serve --metrics-addr, loopback by default).
func (s *Server) Metrics() http.Handler {
	if s.cfg.Registry == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
}

// seal appends a seal on demand (admins): from then on a removed stream or
// a cut tail before it is detected by dispo verify.
func (s *Server) seal(w http.ResponseWriter, r *http.Request) {
	p, ok := s.allowed(w, r, domain.ActAdminister)
	if !ok {
		return
	}
	res, err := s.cfg.Seal(r.Context(), domain.Envelope{ID: domain.EventID(uuid.Must(uuid.NewV7())), RecordedAt: s.cfg.Now().UTC(),
		Actor: p.Actor(""), Source: domain.SourceAPI})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("X-Dispo-Position", strconv.FormatUint(res.LastPosition, 10))
	writeJSON(w, http.StatusCreated, map[string]any{"position": res.LastPosition, "revision": res.Revision})
}

// backup streams a hot copy of the log file (admins only).
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	_, ok := s.allowed(w, r, domain.ActAdminister)
	if !ok {
		return
	}
	// The server's write timeout is for API answers; a backup of a large
	// log takes as long as it takes.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil {
		s.log.Warn("backup: cannot lift the write deadline", "err", err)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="dispo-events-`+s.cfg.Now().UTC().Format("2006-01-02T150405Z")+`.db"`)
	if n, err := s.cfg.Backup(w); err != nil {
		// The status is gone; cutting the stream short tells the client.
		s.log.Error("backup failed", "written", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// notFound answers 405 with Allow when the path exists for other methods
// (gorilla/mux only tells for the last route of a subrouter), else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		s.writeProblem(w, r, domain.ENotFound, "aucune ressource à cette adresse", nil)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeProblem(w, r, codeMethodNotAllowed, r.Method+" n'est pas permis à cette adresse (permis : "+strings.Join(allow, ", ")+")", nil)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz: ready once the projections caught up with the log as it was at
// start; orchestrators send no traffic before. The body says why not (how
// far the fold is, or the record it cannot get past).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Live.Readiness(); err != nil {
		w.Header().Set("Retry-After", "5")
		s.writeProblem(w, r, codeNotReady, err.Error(), nil)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}

// allowed returns the caller if it may do act (on no unit in particular),
// or answers 401 or 403.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, act domain.Action) (domain.Principal, bool) {
	p, ok := s.principal(w, r)
	if !ok {
		return p, false
	}
	if err := domain.Authorize(p, act, ""); err != nil {
		s.writeError(w, r, err)
		return p, false
	}
	return p, true
}

// principal returns the caller, or answers 401.
func (s *Server) principal(w http.ResponseWriter, r *http.Request) (domain.Principal, bool) {
	p, ok := s.cfg.Principal(r.Context())
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dispo"`)
		s.writeProblem(w, r, codeUnauthorized, "identifiez-vous d'abord (POST /api/v1/session) ou envoyez un jeton (Authorization: Bearer)", nil)
	}
	return p, ok
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

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// instrument measures every request, labelled by the route's template so
// that unit ids do not explode the label space.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Every answer says what it is in Content-Type: a browser must not
		// guess HTML from a JSON string a user typed.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // net/http's way to cut a response short
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				if sw.status == 0 {
					s.writeProblem(sw, r, domain.EInternal, "erreur interne", nil)
				}
			}
			route := "unmatched"
			if cr := mux.CurrentRoute(r); cr != nil {
				if t, err := cr.GetPathTemplate(); err == nil {
					route = t
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			s.metrics.observe(route, r.Method, sw.status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}
