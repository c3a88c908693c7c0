// Package web serves dispo's pages, in French, as the ROR-IF guide shows
// them: Connexion, Consultation (the matrix and its details), Recherche,
// Mise à jour, a unit's page and its history. Pages are rendered on the
// server from the live projections (html/template) and work without
// JavaScript; a small embedded script keeps the consultation screens live
// (Server-Sent Events at /flux) and ages the freshness colours in place.
//
// The pages use the same sessions, CSRF tokens and authorization as the
// JSON API: the login form goes through httpauth.Auth.Login, and commands
// through the one domain.Ledger.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"dispo/adapters/httpauth"
	"dispo/domain"
	"dispo/projections"

	"github.com/prometheus/client_golang/prometheus"
)

// Auth is what the pages need of the login machinery (httpauth.Auth).
type Auth interface {
	Middleware(next http.Handler) http.Handler
	Login(w http.ResponseWriter, r *http.Request, identifier, password string) (domain.Principal, error)
	Logout(w http.ResponseWriter, r *http.Request)
	// Reauthenticate runs check (which verifies the person's password)
	// under the login throttle: see httpauth.Auth.Reauthenticate.
	Reauthenticate(r *http.Request, id string, check func() error) error
	// Alive reports whether r's credentials still hold (a live stream
	// ends when they do not).
	Alive(r *http.Request) bool
}

// StreamReader is what a unit's history and the as-of screens read of the log.
type StreamReader interface {
	ReadStreamForward(ctx context.Context, stream string, from uint64, max int) ([]domain.Envelope, error)
	ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// Config wires a Server. Ledger, Live and Auth are required.
type Config struct {
	Ledger  *domain.Ledger
	Live    *projections.Live
	Streams StreamReader // histories and ?at=; nil: neither is offered
	Auth    Auth
	// Accounts, if set, offers /compte (a person's own password) and sends
	// whoever holds an administrator's password there first.
	Accounts Accounts
	// Tokens, if set, serves display links (DisplayPrefix).
	Tokens Tokens
	// Directory, if set, is listed on the Administration page.
	Directory Directory
	Now       func() time.Time // the clock; default time.Now
	Logger    *slog.Logger
	// Support is the contact the login page gives for a lost identifier or
	// password ("support ROR-IF, 01 23 45 67 89").
	Support string
	// MaxWait bounds how long a saved form waits for the projections to show
	// it before redirecting; default 2 s.
	MaxWait time.Duration
	// KeepAlive is how often a live stream sends a comment when nothing
	// moves, so that proxies and the browser keep it open; default 15 s.
	KeepAlive time.Duration
	// Registry, if set, receives the pages' metrics.
	Registry *prometheus.Registry
}

// LoginPath is the login form's path: httpauth.Config.FormLoginPath.
const LoginPath = "/connexion"

// Server serves the pages.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	pages *pages
	// csrf refuses cross-site posts that carry no CSRF token: the login
	// form, which no session protects yet.
	csrf *http.CrossOriginProtection

	mains   pageCache // the consultation pages' main elements
	metrics *metrics

	streamsMu sync.Mutex
	streams   int // live streams open
	// ending is cancelled by EndStreams: a server shutting down waits for
	// its requests, and a live stream would never end by itself.
	ending     context.Context
	endStreams context.CancelFunc
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
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), pages: mustParsePages(), csrf: http.NewCrossOriginProtection()}
	s.ending, s.endStreams = context.WithCancel(context.Background())
	s.metrics = newMetrics(s, cfg.Registry)
	s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// guard says who may open a page.
type guard int

const (
	anyone guard = iota // the login page, the conditions, the assets
	member              // any logged-in role
)

func (s *Server) routes() {
	m := s.mux
	open := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.wrap(anyone, false, h)) }
	page := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.wrap(member, true, h)) }
	m.Handle("GET /static/", s.wrap(anyone, false, s.static))
	open("GET /{$}", s.home)
	open("GET "+LoginPath, s.loginPage)
	open("POST "+LoginPath, s.loginPost)
	open("POST /deconnexion", s.logout)
	open("GET /cgu", s.staticPage("cgu", "Conditions générales d'utilisation"))
	open("GET /accessibilite", s.staticPage("accessibilite", "Déclaration d'accessibilité"))
	page("GET /disponibilites/consultation", s.cached(s.consultation))
	page("GET /disponibilites/consultation/{categorie}", s.cached(s.detail, detailParams...))
	page("GET /disponibilites/structures", s.cached(s.structures))
	page("GET /disponibilites/structures/{finess}", s.cached(s.structure))
	page("GET /recherche", s.cached(s.search, searchParams...))
	page("GET /historique", s.onlyFor("l'historique de toutes les UO est réservé aux auditeurs et aux administrateurs ; un responsable lit celui de ses UO sur leur page",
		[]domain.Role{domain.RoleAuditor, domain.RoleAdmin}, s.cached(s.history, searchParams...)))
	page("GET /uo/{id}", s.unitPage)
	page("GET /disponibilites/mise-a-jour", s.updatePage)
	page("POST /disponibilites/mise-a-jour/{id}", s.declare)
	page("GET /disponibilites/mise-a-jour/{id}/fermeture", s.closePage)
	page("POST /disponibilites/mise-a-jour/{id}/fermeture", s.closeUnit)
	page("POST /disponibilites/mise-a-jour/{id}/reouverture", s.reopenUnit)
	page("GET /administration", s.onlyFor("l'administration est réservée aux administrateurs", []domain.Role{domain.RoleAdmin}, s.administration))
	page("GET /tendances", s.trends)
	page("GET /tendances/manquements.csv", s.missedCSV)
	page("GET "+AccountPath, s.accountPage)
	page("POST "+AccountPath, s.changePassword)
	page("GET /flux", s.stream)
	// Display links: the consultation alone, authenticated by the link.
	shown := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.wrap(anyone, true, s.displayed(h))) }
	shown("GET "+DisplayPrefix+"{jeton}", s.cached(s.consultation))
	shown("GET "+DisplayPrefix+"{jeton}/flux", s.stream)
	shown("GET "+DisplayPrefix+"{jeton}/{categorie}", s.cached(s.detail, detailParams...))
	m.Handle("/", s.wrap(anyone, false, func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "")
	}))
}

// wrap puts the headers every page answers with around h, and the checks
// g asks for: a visitor who is not logged in goes to the login page, and
// back where they were going once logged in; ready: the page reads the
// projections, which must have caught up with the log.
func (s *Server) wrap(g guard, ready bool, h http.HandlerFunc) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving page", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.errorPage(w, r, http.StatusInternalServerError, "")
			}
		}()
		if g == member {
			if _, ok := httpauth.PrincipalFrom(r.Context()); !ok {
				if r.Method != http.MethodGet {
					s.errorPage(w, r, http.StatusUnauthorized, "")
					return
				}
				http.Redirect(w, r, LoginPath+"?suite="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			must, err := s.mustChange(r)
			if err != nil {
				s.log.Error("reading the user store", "err", err)
				s.errorPage(w, r, http.StatusInternalServerError, "")
				return
			}
			if r.URL.Path != AccountPath && must {
				if r.Method != http.MethodGet {
					s.errorPage(w, r, http.StatusForbidden, "choisissez d'abord votre mot de passe (page Mon compte)")
					return
				}
				http.Redirect(w, r, AccountPath+"?suite="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		if ready {
			if err := s.cfg.Live.Readiness(); err != nil {
				w.Header().Set("Retry-After", "5")
				s.errorPage(w, r, http.StatusServiceUnavailable, err.Error())
				return
			}
		}
		// What a page shows is at least as recent as the position read
		// now, before it reads the projections: the live script, told of a
		// later one, fetches it again rather than missing it.
		h(w, r.WithContext(context.WithValue(r.Context(), positionKey{}, s.cfg.Live.Position())))
	})
	return s.measured(securityHeaders(s.cfg.Auth.Middleware(inner)))
}

type positionKey struct{}

// position is the log position read when the request began.
func (s *Server) position(r *http.Request) uint64 {
	if p, ok := r.Context().Value(positionKey{}).(uint64); ok {
		return p
	}
	return s.cfg.Live.Position()
}

// contentSecurityPolicy allows the page's own assets only: no inline
// script or style, no framing (clickjacking), forms to this site only.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// minGzip is the size under which an answer is sent as is: compressing a
// few hundred bytes costs more than it saves.
const minGzip = 1024

var gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// send writes a rendered body with its length, compressed when the client
// takes gzip. Pages are for the person logged in: no shared cache keeps them.
func send(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "private, no-store")
	}
	h.Add("Vary", "Accept-Encoding")
	if len(body) >= minGzip && acceptsGzip(r) {
		var buf bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&buf)
		zw.Write(body)
		zw.Close()
		gzipWriters.Put(zw)
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether Accept-Encoding takes gzip with a weight
// above 0 ("gzip", "gzip;q=0.5", but not "gzip;q=0.0").
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		k, v, found := strings.Cut(strings.ReplaceAll(params, " ", ""), "=")
		if !found || !strings.EqualFold(k, "q") {
			return true
		}
		q, err := strconv.ParseFloat(v, 64)
		return err == nil && q > 0
	}
	return false
}

// principal is the person logged in; pages behind member always have one.
func principal(r *http.Request) domain.Principal {
	p, _ := httpauth.PrincipalFrom(r.Context())
	return p
}
