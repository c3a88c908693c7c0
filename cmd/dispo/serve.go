package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"dispo/adapters/adminsock"
	"dispo/adapters/boltlog"
	"dispo/adapters/esdblog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/userfile"
	"dispo/cmd/dispo/app"
	"dispo/domain"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serveConfig is what `dispo serve` runs with; tests fill it directly.
type serveConfig struct {
	data, addr, users  string
	metricsAddr        string // "": no metrics listener
	eventstore         string // EventStoreDB connection string; empty: the embedded log
	demo               bool
	support            string
	fhirBase           string
	shutdown           time.Duration
	logJSON            bool
	secure, trustProxy bool
	sealEvery          time.Duration   // 0: no periodic seal
	passwordParams     userfile.Params // zero: the store's default cost
	// ready, if not nil, receives the address once the server listens;
	// metricsReady the metrics listener's.
	ready, metricsReady chan<- string
}

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := env.flags("serve", "[flags]",
		"Serves the web pages (in French: /connexion, /disponibilites/consultation, Mise à jour...),\n"+
			"the JSON API (/api/v1), /healthz and /readyz on the embedded event log, and the\n"+
			"Prometheus metrics on a listener of their own (--metrics-addr), off the public address:\n"+
			"they tell per-department freshness and login failures. Admin commands (dispo users\n"+
			"logout, unlock, passwd, role) reach it through the unix socket DATA/admin.sock.\n"+
			"Every flag can also be set by the environment variable named in its help.\n"+
			"SIGINT or SIGTERM stops accepting connections, lets requests in flight finish\n"+
			"(up to --shutdown-timeout) and closes the log; a second signal exits at once.")
	var c serveConfig
	fs.StringVar(&c.data, "data", envOr(env, "DISPO_DATA", "data"), "directory of the embedded event log (env DISPO_DATA)")
	fs.StringVar(&c.addr, "addr", envOr(env, "DISPO_ADDR", "127.0.0.1:8080"), "address to listen on (env DISPO_ADDR)")
	fs.StringVar(&c.eventstore, "eventstore", env.Getenv("DISPO_EVENTSTORE"), "EventStoreDB/KurrentDB connection string (esdb://host:2113?tls=false, esdb+discover://...) instead of the embedded log; DATA then keeps the position index checkpoint and users (env DISPO_EVENTSTORE)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", envOr(env, "DISPO_METRICS_ADDR", "127.0.0.1:9090"),
		"address of the /metrics listener, for the scraper only: keep it off the public network (env DISPO_METRICS_ADDR; \"off\": none)")
	fs.StringVar(&c.users, "users", env.Getenv("DISPO_USERS"), "user file (env DISPO_USERS; default DATA/users.json)")
	fs.BoolVar(&c.demo, "demo", envBool(env, "DISPO_DEMO"), "on an empty log, load the Île-de-France demo data and create one demo account per role, printing their passwords (env DISPO_DEMO)")
	fs.DurationVar(&c.shutdown, "shutdown-timeout", 10*time.Second, "how long requests in flight may take to finish at shutdown")
	fs.BoolVar(&c.secure, "secure-cookies", envBool(env, "DISPO_SECURE_COOKIES"), "mark session cookies Secure even on plain HTTP: set it when a proxy terminates TLS (env DISPO_SECURE_COOKIES)")
	fs.BoolVar(&c.trustProxy, "trust-proxy", envBool(env, "DISPO_TRUST_PROXY"), "take the client address from X-Forwarded-For and honour X-Forwarded-Proto; only behind a proxy that sets them (env DISPO_TRUST_PROXY)")
	fs.DurationVar(&c.sealEvery, "seal-every", time.Hour, "append a seal of every stream's head this often when the log moved (0: only on demand, POST /api/v1/seal)")
	fs.StringVar(&c.fhirBase, "fhir-base", envOr(env, "DISPO_FHIR_BASE", ""), "absolute address of /fhir as FHIR clients reach it, for the links of search bundles, e.g. https://dispo.example.org/fhir (env DISPO_FHIR_BASE; default: from each request's Host)")
	fs.StringVar(&c.support, "support", envOr(env, "DISPO_SUPPORT", ""), "support contact the login page gives for a lost identifier or password, e.g. \"support ROR-IF, 01 23 45 67 89, support@example.org\" (env DISPO_SUPPORT)")
	fs.BoolVar(&c.logJSON, "log-json", envBool(env, "DISPO_LOG_JSON"), "log in JSON rather than text (env DISPO_LOG_JSON)")
	if err := env.parseArgs(fs, args, 0); err != nil {
		return err
	}
	return serve(ctx, env, c)
}

func envOr(env *Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}

func envBool(env *Env, key string) bool {
	b, _ := strconv.ParseBool(env.Getenv(key))
	return b
}

func serve(ctx context.Context, env *Env, c serveConfig) error {
	var handler slog.Handler = slog.NewTextHandler(env.Stderr, nil)
	if c.logJSON {
		handler = slog.NewJSONHandler(env.Stderr, nil)
	}
	logger := slog.New(handler)
	if c.users == "" {
		c.users = filepath.Join(c.data, "users.json")
	}

	log, err := openServedLog(ctx, c, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := log.Close(); err != nil {
			logger.Error("closing the log", "err", err)
		}
	}()
	users, err := userfile.Open(c.users, userfile.Options{Now: env.Now, Params: c.passwordParams})
	if err != nil {
		return err
	}
	if c.demo {
		if err := loadDemo(ctx, env, log, users); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc, err := app.New(ctx, app.Config{Log: log, Users: users, DataDir: c.data, Now: env.Now, Logger: logger, Registry: reg,
		SealEvery: c.sealEvery, Support: c.support, FHIRBase: c.fhirBase, SecureCookies: c.secure, TrustProxy: c.trustProxy})
	if err != nil {
		return err
	}
	defer func() {
		if err := svc.Close(); err != nil {
			logger.Error("stopping the service", "err", err)
		}
	}()
	// Admin commands (dispo users logout, unlock...) reach this server by a
	// unix socket in the data directory: only its owner and root can use
	// it, and it is never on the network. Holding it, this server is the
	// only one of the directory.
	admin, err := adminsock.Start(adminsock.PathIn(c.data), svc.Admin())
	if err != nil {
		return err
	}
	defer admin.Close()
	// The loops outlive the signal: requests that drain at shutdown still
	// read projections that follow the log. Close stops them.
	if err := svc.Run(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	api := svc.API()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	metricsURL := "(none: --metrics-addr off)"
	if c.metricsAddr != "" && c.metricsAddr != "off" {
		mln, err := net.Listen("tcp", c.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", api.Metrics())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(handler, slog.LevelWarn)}
		go msrv.Serve(mln)
		defer msrv.Close()
		metricsURL = "http://" + mln.Addr().String() + "/metrics"
		if c.metricsReady != nil {
			c.metricsReady <- mln.Addr().String()
		}
	}
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(handler, slog.LevelWarn)}
	srv.RegisterOnShutdown(svc.Pages().EndStreams)
	url := "http://" + ln.Addr().String()
	head, _ := log.Head(ctx)
	where := logFile(c.data)
	if c.eventstore != "" {
		where = "EventStoreDB " + c.eventstore
	}
	fmt.Fprintf(env.Stdout, "dispo is serving %s on %s\n  open %s/ in a browser and log in with an account above (the pages are in French)\n  JSON API %s/api/v1 (log in first: POST %s/api/v1/session)\n  FHIR %s/fhir (the national ROR's; bearer tokens: dispo users token; what it serves: %s/fhir/metadata)\n  health %s/healthz, readiness %s/readyz, metrics %s\n",
		where, url, url, url, url, url, url, url, url, metricsURL)
	logger.Info("serving", "addr", ln.Addr().String(), "log", where, "head", head, "users", c.users)
	if c.ready != nil {
		c.ready <- ln.Addr().String()
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// A second signal while we drain exits at once.
	second := make(chan os.Signal, 1)
	signal.Notify(second, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(second)
	go func() {
		if _, ok := <-second; ok {
			logger.Warn("second signal: exiting now")
			os.Exit(1)
		}
	}()
	logger.Info("shutting down", "timeout", c.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still in flight at the deadline were cut", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// demoRoles are the demo accounts: one per role.
var demoRoles = []domain.Role{domain.RoleResponsable, domain.RoleProfessionnel, domain.RoleAnalyst, domain.RoleAuditor, domain.RoleAdmin}

// loadDemo fills an empty log with the Île-de-France demo data (dated to
// end now) and creates the demo accounts, printing their passwords.
func loadDemo(ctx context.Context, env *Env, log servedLog, users *userfile.Store) error {
	head, err := log.Head(ctx)
	if err != nil {
		return err
	}
	if head == 0 {
		evs, err := fixturegen.Demo(env.Now())
		if err != nil {
			return err
		}
		if _, err := fixturegen.Fill(ctx, log, slices.Values(evs), len(evs)); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "demo: loaded %d events (Île-de-France, 180 dialysis units, dated to end now)\n", len(evs))
	}
	list, err := users.List()
	if err != nil || len(list) > 0 {
		return err
	}
	finess, err := demoEstablishment(ctx, log)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "demo accounts (passwords are shown once; change them with dispo users passwd):")
	for _, role := range demoRoles {
		u := userfile.User{ID: "demo-" + string(role), Role: role}
		if role == domain.RoleResponsable {
			u.Establishments = []string{finess}
		}
		pw := rand.Text()[:16]
		if err := users.Add(u, pw); err != nil {
			return err
		}
		extra := ""
		if role == domain.RoleResponsable {
			extra = " (habilitated for establishment " + finess + ")"
		}
		fmt.Fprintf(env.Stdout, "  %-14s %-19s password %s%s\n", role, u.ID, pw, extra)
	}
	return nil
}

// demoEstablishment picks the establishment of the demo responsable: the
// first registered in Seine-et-Marne (the seed's department), else the first.
func demoEstablishment(ctx context.Context, log servedLog) (string, error) {
	first := ""
	for env, err := range log.ReadAll(ctx, 0) {
		if err != nil {
			return "", err
		}
		if r, ok := env.Event.(domain.UnitRegistered); ok {
			if r.Department == "77" {
				return r.FINESS, nil
			}
			if first == "" {
				first = r.FINESS
			}
		}
	}
	if first == "" {
		return "", errors.New("no unit in the log to habilitate the demo responsable for")
	}
	return first, nil
}

// servedLog is what the service needs of an event log; the embedded log
// and the EventStoreDB adapter both are one.
type servedLog interface {
	domain.UnitLog
	AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, error)
	ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
	Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
	Head(ctx context.Context) (uint64, error)
	Close() error
}

var (
	_ servedLog    = (*boltlog.Log)(nil)
	_ servedLog    = (*esdblog.Log)(nil)
	_ app.Backuper = (*boltlog.Log)(nil)
	_ app.Sealer   = (*boltlog.Log)(nil)
)

// openServedLog opens the embedded log of DATA, or EventStoreDB when
// --eventstore is set (nothing else changes).
func openServedLog(ctx context.Context, c serveConfig, logger *slog.Logger) (servedLog, error) {
	return openAnyLog(ctx, c.data, c.eventstore, false, logger)
}

// openAnyLog opens EventStoreDB at eventstore if set (DATA then holds its
// position index checkpoint), else the embedded log of DATA.
func openAnyLog(ctx context.Context, data, eventstore string, readOnly bool, logger *slog.Logger) (servedLog, error) {
	if eventstore == "" {
		return openLog(data, readOnly)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	l, err := esdblog.Open(ctx, eventstore, esdblog.Options{Dir: data, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("eventstore: %w", err)
	}
	return l, nil
}
