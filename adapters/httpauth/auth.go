package httpauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"time"

	"dispo/adapters/userfile"
	"dispo/domain"
)

// Users is what logins need of the user store.
type Users interface {
	// Authenticate returns the principal of id if password is its password,
	// userfile.ErrBadCredentials if not (whatever was wrong); any other
	// error is internal.
	Authenticate(id, password string) (domain.Principal, error)
	// AuthenticateToken returns the principal a bearer token was issued to,
	// or userfile.ErrBadCredentials.
	AuthenticateToken(token string) (domain.Principal, error)
	// Principal returns the current principal of id: ENotFound if the user
	// no longer exists.
	Principal(id string) (domain.Principal, error)
}

var _ Users = (*userfile.Store)(nil)

// Names on the wire: part of the API, do not change.
const (
	CookieName = "dispo_session"
	CSRFHeader = "X-CSRF-Token"
	// CSRFField carries the token in a form (application/x-www-form-urlencoded)
	// posted by the web pages, which cannot set headers without a script.
	CSRFField = "csrf_token"
)

// MaxFormSize bounds a form's body: the pages' forms hold a few fields.
const MaxFormSize = 64 << 10

// Config configures an Auth. Only Users is required.
type Config struct {
	Users Users
	Now   func() time.Time // the clock; default time.Now

	SessionTTL         time.Duration // a session's absolute lifetime; default 8h
	IdleTimeout        time.Duration // a session ends after that long without a request; default 30m
	MaxSessionsPerUser int           // default 16; more logins end the least recently used

	// Secure marks cookies Secure even on plain HTTP requests: set it when
	// a proxy terminates TLS. Requests over TLS get Secure cookies anyway.
	Secure bool
	// TrustProxy takes the client address from the last X-Forwarded-For
	// entry and honours X-Forwarded-Proto: https. Set it only behind a proxy
	// that sets them, else any client can pick its address.
	TrustProxy bool
	// LoginPath is where LoginHandler is mounted, default "/api/v1/session":
	// POST there needs no CSRF token. FormLoginPath, if set, is the web
	// page's login form (which guards itself against cross-site posts).
	LoginPath, FormLoginPath string

	// Throttling of failed logins: see the package documentation.
	MaxFailuresPerIdentifier int           // free failures per identifier (and per device); default 5
	MaxFailuresPerAddress    int           // free failures per client address; default 20
	LoginDelay               time.Duration // the first delay after the free failures, doubled at each failure; default 1s
	MaxDelayPerIdentifier    time.Duration // the longest delay of an identifier or a device; default 15m
	MaxDelayPerAddress       time.Duration // the longest delay of an address; default 1m: it slows, never locks
	FailureMemory            time.Duration // a key is forgotten this long after its last failure; default 1h, never less than the delays
	DeviceTTL                time.Duration // lifetime of a device cookie; default 30 days
	// DeviceKey signs device cookies; default random at New, so that they
	// end with the process, as the throttle's memory does.
	DeviceKey []byte
	// MaxConcurrentLogins bounds the password verifications in progress
	// (each holds the hash's memory, 19 MiB by default); more wait. Default
	// twice the number of CPUs.
	MaxConcurrentLogins int

	// Problem writes every error response; default a minimal
	// application/problem+json. Codes used: invalid (400), unauthorized
	// (401), forbidden (403), too_large (413), unsupported_media_type (415),
	// login_throttled (429, with Retry-After), internal (500).
	Problem func(w http.ResponseWriter, r *http.Request, status int, code, field, detail string)
	// OnLoginFailure, if set, is called for each login refused for bad
	// credentials (not for throttled or malformed attempts).
	OnLoginFailure func()
	// LogError, if set, receives internal errors (the user store cannot be
	// read); the client is only told "internal error".
	LogError func(r *http.Request, err error)
}

// Stamper is implemented by a user store that can tell when a user's
// credentials changed: CredentialStamp returns a value that changes when
// the user's password or role does, ENotFound for no such user. With it, a
// session ends at its next request once its user's password or role
// changed, by whatever process (userfile.Store implements it).
type Stamper interface {
	CredentialStamp(id string) (string, error)
}

var _ Stamper = (*userfile.Store)(nil)

// CodeLoginThrottled is the problem code of a login refused by the
// throttle: part of the API, do not change.
const CodeLoginThrottled = "login_throttled"

// Auth holds the sessions and the throttle. Safe for concurrent use.
type Auth struct {
	cfg       Config
	sessions  *sessions
	throttle  *throttle
	logins    chan struct{} // semaphore of verifications in progress
	deviceKey []byte
}

// New returns an Auth for cfg, with defaults for its zero fields.
func New(cfg Config) *Auth {
	if cfg.Users == nil {
		panic("httpauth: Config.Users is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.SessionTTL, 8*time.Hour)
	def(&cfg.IdleTimeout, 30*time.Minute)
	def(&cfg.LoginDelay, time.Second)
	def(&cfg.MaxDelayPerIdentifier, 15*time.Minute)
	def(&cfg.MaxDelayPerAddress, time.Minute)
	def(&cfg.FailureMemory, time.Hour)
	def(&cfg.DeviceTTL, 30*24*time.Hour)
	// Forgetting a key before its delay ends would shorten the delay.
	cfg.FailureMemory = max(cfg.FailureMemory, cfg.MaxDelayPerIdentifier, cfg.MaxDelayPerAddress)
	defInt(&cfg.MaxSessionsPerUser, 16)
	defInt(&cfg.MaxFailuresPerIdentifier, 5)
	defInt(&cfg.MaxFailuresPerAddress, 20)
	defInt(&cfg.MaxConcurrentLogins, 2*runtime.NumCPU())
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/api/v1/session"
	}
	if cfg.Problem == nil {
		cfg.Problem = defaultProblem
	}
	key := cfg.DeviceKey
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	}
	return &Auth{
		cfg:      cfg,
		sessions: newSessions(cfg.SessionTTL, cfg.IdleTimeout, cfg.MaxSessionsPerUser),
		throttle: newThrottle(
			policy{free: cfg.MaxFailuresPerIdentifier, base: cfg.LoginDelay, max: cfg.MaxDelayPerIdentifier, memory: cfg.FailureMemory},
			policy{free: cfg.MaxFailuresPerAddress, base: cfg.LoginDelay, max: cfg.MaxDelayPerAddress, memory: cfg.FailureMemory}),
		logins:    make(chan struct{}, cfg.MaxConcurrentLogins),
		deviceKey: key,
	}
}

// Unlock forgets the failed logins of identifier id, from every address
// and device, so that its user can log in at once from anywhere; it
// returns how many throttle keys it dropped (0: id was not slowed down).
// The addresses' own delays stay.
func (a *Auth) Unlock(id string) int { return a.throttle.unlock(id) }

// EndSessions ends every session of user id and returns how many there
// were. Bearer tokens are not sessions: revoke them in the user store.
func (a *Auth) EndSessions(id string) int { return a.sessions.endUser(id) }

// Sweep drops ended sessions and throttle keys past their memory. Logins call
// it at most once a minute; a server may also call it from a ticker.
func (a *Auth) Sweep() {
	now := a.cfg.Now()
	a.sessions.sweep(now)
	a.throttle.sweep(now)
}

type principalKey struct{}
type sessionKey struct{}

// WithPrincipal returns ctx carrying p, as Middleware does for an
// authenticated request. Exported for tests of handlers.
func WithPrincipal(ctx context.Context, p domain.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal Middleware found for the request.
func PrincipalFrom(ctx context.Context) (domain.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(domain.Principal)
	return p, ok
}

// sessionFrom returns the session the request was authenticated by, if any.
func sessionFrom(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// safeMethod reports whether m needs no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// Middleware authenticates the request by its bearer token or its session
// cookie and puts the principal in its context (see the package
// documentation). It answers itself only when presented credentials fail:
// 401 for a bearer token that does not authenticate, 403 for a cookie
// request that needs a CSRF token and lacks the right one, 500 if the user
// store cannot be read.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				a.unauthorized(w, r, "Authorization", "schéma d'autorisation non pris en charge : envoyez Authorization: Bearer <jeton>")
				return
			}
			p, err := a.cfg.Users.AuthenticateToken(strings.TrimSpace(token))
			switch {
			case errors.Is(err, userfile.ErrBadCredentials):
				a.unauthorized(w, r, "Authorization", "le jeton n'est pas valable (révoqué, mal recopié ou jamais émis)")
				return
			case err != nil:
				a.internal(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
			return
		}
		c, err := r.Cookie(CookieName)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		now := a.cfg.Now()
		s, ok := a.sessions.get(c.Value, now)
		if !ok {
			a.clearCookie(w, r) // ended or unknown: the request goes on anonymous
			next.ServeHTTP(w, r)
			return
		}
		if !safeMethod(r.Method) && !a.loginPost(r) {
			got := r.Header.Get(CSRFHeader)
			if got == "" && isForm(r) {
				r.Body = http.MaxBytesReader(w, r.Body, MaxFormSize)
				got = r.PostFormValue(CSRFField) // a body too large reads as no token
			}
			if got == "" {
				a.cfg.Problem(w, r, http.StatusForbidden, domain.EForbidden, CSRFHeader,
					"en-tête "+CSRFHeader+" manquant : une requête authentifiée par le cookie de session doit renvoyer le jeton CSRF de la session (donné à la connexion et par GET /api/v1/session)")
				return
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				a.cfg.Problem(w, r, http.StatusForbidden, domain.EForbidden, CSRFHeader,
					"en-tête "+CSRFHeader+" erroné : il ne correspond pas au jeton CSRF de cette session (donné à la connexion et par GET /api/v1/session)")
				return
			}
		}
		p, err := a.cfg.Users.Principal(s.userID)
		switch {
		case domain.ErrorCode(err) == domain.ENotFound:
			a.sessions.remove(c.Value)
			a.clearCookie(w, r)
			next.ServeHTTP(w, r)
			return
		case err != nil:
			a.internal(w, r, err)
			return
		}
		if st, ok := a.cfg.Users.(Stamper); ok {
			stamp, err := st.CredentialStamp(s.userID)
			switch {
			case err == nil && stamp == s.stamp:
			case err == nil || domain.ErrorCode(err) == domain.ENotFound:
				// The password or the role changed since the login:
				// whoever logged in with the old one is out.
				a.sessions.remove(c.Value)
				a.clearCookie(w, r)
				next.ServeHTTP(w, r)
				return
			default:
				a.internal(w, r, err)
				return
			}
		}
		if t, ok := a.sessions.touch(c.Value, now); ok {
			s = t
		}
		ctx := context.WithValue(WithPrincipal(r.Context(), p), sessionKey{}, s)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// loginPost reports whether r posts a login, which needs no CSRF token.
func (a *Auth) loginPost(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == a.cfg.LoginPath || a.cfg.FormLoginPath != "" && r.URL.Path == a.cfg.FormLoginPath)
}

// isForm reports whether r's body is a urlencoded form.
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// Alive reports whether the credentials r was authenticated by still
// hold: its bearer token is not revoked; its session has not ended, nor
// its user's password or role changed. A request that lasts (a live
// stream) asks now and then.
func (a *Auth) Alive(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		_, token, _ := strings.Cut(h, " ")
		_, err := a.cfg.Users.AuthenticateToken(strings.TrimSpace(token))
		return err == nil
	}
	if _, ok := sessionFrom(r.Context()); !ok {
		return false
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return false
	}
	s, ok := a.sessions.get(c.Value, a.cfg.Now())
	if !ok {
		return false
	}
	if st, ok := a.cfg.Users.(Stamper); ok {
		stamp, err := st.CredentialStamp(s.userID)
		return err == nil && stamp == s.stamp
	}
	return true
}

// Require answers 401 to a request Middleware found no principal for, and
// passes the others to next.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := PrincipalFrom(r.Context()); !ok {
			a.unauthorized(w, r, "", "identifiez-vous d'abord (POST "+a.cfg.LoginPath+") ou envoyez Authorization: Bearer <jeton>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Auth) unauthorized(w http.ResponseWriter, r *http.Request, field, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="dispo"`)
	a.cfg.Problem(w, r, http.StatusUnauthorized, "unauthorized", field, detail)
}

func (a *Auth) internal(w http.ResponseWriter, r *http.Request, err error) {
	if a.cfg.LogError != nil {
		a.cfg.LogError(r, err)
	}
	a.cfg.Problem(w, r, http.StatusInternalServerError, domain.EInternal, "", "erreur interne")
}

// secure reports whether the response's cookies must be Secure.
func (a *Auth) secure(r *http.Request) bool {
	return a.cfg.Secure || r.TLS != nil || a.cfg.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (a *Auth) cookie(r *http.Request, value string) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secure(r)}
}

func (a *Auth) clearCookie(w http.ResponseWriter, r *http.Request) {
	c := a.cookie(r, "")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// defaultProblem writes a minimal RFC 9457 problem.
func defaultProblem(w http.ResponseWriter, r *http.Request, status int, code, field, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Code   string `json:"code"`
		Field  string `json:"field,omitempty"`
		Detail string `json:"detail,omitempty"`
	}{http.StatusText(status), status, code, field, detail})
}
