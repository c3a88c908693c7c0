// Package app is dispo's service at run time: the ledger over an opened
// event log, the live projections that follow it, the logins, the JSON API
// and the admin socket's routes, and the background loops that keep them
// (following the log, rebuilding the as-of checkpoints, saving the
// projections, sealing the log). dispo serve and the end-to-end tests build
// one with New, start its loops with Run and stop them with Close; opening
// the log and the users, listeners and signals stay with them.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"dispo/adapters/fhir"
	"dispo/adapters/httpapi"
	"dispo/adapters/httpauth"
	"dispo/adapters/web"
	"dispo/domain"
	"dispo/projections"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Log is what the service needs of an opened event log; the embedded log
// and the EventStoreDB adapter both are one. A log that is also a Backuper
// or a Sealer gets the endpoints (and the periodic seal) that need it.
type Log interface {
	domain.UnitLog
	Head(ctx context.Context) (uint64, error)
	ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
	Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// Config is what a Service is built from. Log, Users and DataDir are
// required; the Service closes neither the log nor the user store.
type Config struct {
	Log   Log
	Users httpauth.Users
	// DataDir keeps the projections' snapshot (projections.snap), so that a
	// restart resumes from it rather than from position 0.
	DataDir string

	Now      func() time.Time     // the clock; default time.Now
	Logger   *slog.Logger         // default slog.Default()
	Registry *prometheus.Registry // metrics are registered here; default a registry of its own

	// SealEvery is how often a seal of every stream's head is appended when
	// the log moved since the last one; 0: only on demand (POST
	// /api/v1/seal). Ignored for a log that is not a Sealer.
	SealEvery time.Duration
	// SecureCookies marks session cookies Secure even on plain HTTP (a proxy
	// terminates TLS); TrustProxy takes the client's address and scheme from
	// X-Forwarded-For and X-Forwarded-Proto. See httpauth.Config.
	SecureCookies, TrustProxy bool
	// MaxWait bounds how long ?min_position= waits for the projections;
	// 0: the API's default.
	MaxWait time.Duration
	// Support is the contact the login page gives for a lost password.
	Support string
	// FHIRBase is the absolute address of /fhir as clients reach it (the
	// links of FHIR bundles); "" derives it from each request.
	FHIRBase string
}

// Backuper is a log that writes a consistent copy of itself while it runs:
// GET /api/v1/backup. The embedded log is one; the EventStoreDB adapter is
// not (the store has backups of its own).
type Backuper interface {
	Backup(w io.Writer) (int64, error)
}

// Sealer is a log that appends a seal committing to the head of every
// stream (domain.LogSealed), from which dispo verify detects a removed
// stream or a cut tail: POST /api/v1/seal and Config.SealEvery. The
// embedded log is one; the EventStoreDB adapter is not yet.
type Sealer interface {
	Seal(ctx context.Context, env domain.Envelope) (domain.AppendResult, error)
}

// Service is the running service. Its handlers serve as soon as New
// returns; the projections move once Run started following the log.
type Service struct {
	cfg      Config
	log      *slog.Logger
	live     *projections.Live
	api      *httpapi.Server
	pages    *web.Server
	handler  http.Handler // the API, FHIR and the pages
	fhir     *fhir.Server
	admin    *http.ServeMux
	sealer   Sealer // nil: the log cannot seal
	snapPath string

	mu      sync.Mutex
	running bool // Run started the loops
	closed  bool
	stop    context.CancelFunc
	loops   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// New wires a Service on cfg.Log. It resumes the projections from the
// snapshot in cfg.DataDir if the snapshot is of this log (ctx bounds the
// read of the log that tells), else they start from position 0.
func New(ctx context.Context, cfg Config) (*Service, error) {
	switch {
	case cfg.Log == nil:
		return nil, errors.New("app: Config.Log is nil")
	case cfg.Users == nil:
		return nil, errors.New("app: Config.Users is nil")
	case cfg.DataDir == "":
		return nil, errors.New("app: Config.DataDir is empty")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Service{cfg: cfg, log: cfg.Logger, snapPath: filepath.Join(cfg.DataDir, snapshotFile)}
	s.live = resume(ctx, s.snapPath, cfg.Log, s.log)

	// The counter exists before both: the logins count into it, the API
	// registers it.
	loginFailures := httpapi.NewLoginFailures()
	auth := httpauth.New(httpauth.Config{
		Users:          cfg.Users,
		Now:            cfg.Now,
		Secure:         cfg.SecureCookies,
		TrustProxy:     cfg.TrustProxy,
		FormLoginPath:  web.LoginPath,
		LogError:       func(r *http.Request, err error) { s.log.Error("authentication", "path", r.URL.Path, "err", err) },
		Problem:        s.problem,
		OnLoginFailure: loginFailures.Inc,
	})
	s.admin = http.NewServeMux()
	auth.AdminRoutes(s.admin)

	var backup func(io.Writer) (int64, error)
	if b, ok := cfg.Log.(Backuper); ok {
		backup = b.Backup
	}
	var seal func(context.Context, domain.Envelope) (domain.AppendResult, error)
	if sl, ok := cfg.Log.(Sealer); ok {
		s.sealer, seal = sl, sl.Seal
	}
	// One ledger for both doors: its cache of units and their locks are
	// what serialises the commands on a unit.
	ledger := domain.NewLedger(httpapi.InstrumentLog(cfg.Log, cfg.Registry), cfg.Now, newEventID)
	s.api = httpapi.New(httpapi.Config{
		Ledger:        ledger,
		Live:          s.live,
		Log:           cfg.Log,
		Streams:       cfg.Log,
		Auth:          auth,
		Principal:     httpauth.PrincipalFrom,
		Now:           cfg.Now,
		Logger:        s.log,
		Registry:      cfg.Registry,
		LoginFailures: loginFailures,
		MaxWait:       cfg.MaxWait,
		Backup:        backup,
		Seal:          seal,
	})
	wc := web.Config{Ledger: ledger, Live: s.live, Streams: cfg.Log, Auth: auth, Now: cfg.Now, Logger: s.log,
		Support: cfg.Support, MaxWait: cfg.MaxWait, Registry: cfg.Registry}
	if a, ok := cfg.Users.(web.Accounts); ok {
		wc.Accounts = a
	}
	wc.Tokens = cfg.Users
	if d, ok := cfg.Users.(web.Directory); ok {
		wc.Directory = d
	}
	s.pages = web.New(wc)
	s.fhir = fhir.New(fhir.Config{Ledger: ledger, Live: s.live, Log: cfg.Log, Authenticate: auth.Middleware,
		Principal: httpauth.PrincipalFrom, Now: cfg.Now, Logger: s.log, BaseURL: cfg.FHIRBase, MaxWait: cfg.MaxWait, Registry: cfg.Registry})
	mux := http.NewServeMux()
	mux.Handle("/fhir/", s.fhir)
	mux.Handle("/api/", s.api)
	mux.Handle("/healthz", s.api)
	mux.Handle("/readyz", s.api)
	mux.Handle("/", s.pages)
	s.handler = mux
	return s, nil
}

// isFHIR reports whether r is for the FHIR interface, which answers
// OperationOutcomes.
func isFHIR(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/fhir/") }

// isAPI reports whether r is for the JSON API (or the probes), which answer
// problems; the rest are pages, which answer HTML.
func isAPI(r *http.Request) bool {
	p := r.URL.Path
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz"
}

// problem writes the login machinery's refusals: problem+json for the API,
// a French page for the pages.
func (s *Service) problem(w http.ResponseWriter, r *http.Request, status int, code, field, detail string) {
	if isFHIR(r) {
		fhir.WriteOutcome(w, status, code, detail)
		return
	}
	if isAPI(r) {
		httpapi.WriteProblem(w, r, status, code, field, detail)
		return
	}
	s.pages.WriteProblem(w, r, status, code, field, detail)
}

// Handler serves the JSON API, the probes and the web pages.
func (s *Service) Handler() http.Handler { return s.handler }

// Pages is the web front.
func (s *Service) Pages() *web.Server { return s.pages }

func newEventID() domain.EventID { return domain.EventID(uuid.Must(uuid.NewV7())) }

// API is the JSON API, /healthz and /readyz; its Metrics handler is for a
// listener of its own.
func (s *Service) API() *httpapi.Server { return s.api }

// Admin serves the administration commands of logins (httpauth's
// AdminRoutes), for the admin socket only.
func (s *Service) Admin() http.Handler { return s.admin }

// Live is the projections the API answers from.
func (s *Service) Live() *projections.Live { return s.live }

// Run starts the background loops: following the log (resumed after a
// pause when the subscription breaks), rebuilding the as-of checkpoints a
// resumed snapshot lacks, saving the projections every minute when they
// moved, and sealing the log every Config.SealEvery. They run until Close
// or the end of ctx.
//
// Run removes the temporary files of saves that a crash cut short: call it
// once no other server uses DataDir (dispo serve holds the admin socket of
// the directory first).
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("app: Run after Close")
	case s.running:
		return errors.New("app: Run called twice")
	}
	s.running = true
	removeHalfSaved(s.cfg.DataDir, s.log)
	ctx, s.stop = context.WithCancel(ctx)
	resumed := s.live.Position() > 0
	s.loops.Go(func() { s.follow(ctx) })
	if resumed {
		s.loops.Go(func() { s.rebuildCheckpoints(ctx) })
	}
	s.loops.Go(func() { s.saveEvery(ctx, saveInterval) })
	if s.sealer != nil && s.cfg.SealEvery > 0 {
		s.loops.Go(func() { s.sealEvery(ctx, s.cfg.SealEvery) })
	}
	return nil
}

// Close stops the loops, waits for them and saves the projections one last
// time, if Run started them. Later calls do nothing and return the same.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		running := s.running
		s.mu.Unlock()
		if !running {
			return
		}
		s.stop()
		// A save of the loop must not land after the last one.
		s.loops.Wait()
		if err := save(s.snapPath, s.live); err != nil {
			s.closeErr = fmt.Errorf("app: saving the projections: %w", err)
		}
	})
	return s.closeErr
}

func (s *Service) follow(ctx context.Context) {
	err := Follow(ctx, s.live, s.cfg.Log, func(err error) { s.log.Error("projection subscription broke; resuming", "err", err) })
	if err != nil && ctx.Err() == nil {
		s.log.Error("projections stopped following the log", "err", err)
	}
}

// rebuildCheckpoints gives back the checkpoints before a resumed snapshot,
// which as-of queries before it need.
func (s *Service) rebuildCheckpoints(ctx context.Context) {
	if err := s.live.RebuildCheckpoints(ctx, s.cfg.Log); err != nil && ctx.Err() == nil {
		s.log.Warn("rebuilding the as-of checkpoints", "err", err)
	}
}
