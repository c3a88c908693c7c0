package httpauth_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"dispo/adapters/httpauth"
	"dispo/adapters/userfile"
	"dispo/domain"
)

const pw = "correct horse battery"

// clock is a fake clock tests advance by hand: no sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t        *testing.T
	srv      *httptest.Server
	store    *userfile.Store
	clock    *clock
	auth     *httpauth.Auth
	failures atomic.Int32
	guesses  atomic.Int64 // password verifications with a wrong password
}

// countingStore is the real store, counting the password verifications
// that are guesses (anything but the right password).
type countingStore struct {
	*userfile.Store
	guesses *atomic.Int64
}

func (c countingStore) Authenticate(id, password string) (domain.Principal, error) {
	if password != pw {
		c.guesses.Add(1)
	}
	return c.Store.Authenticate(id, password)
}

// newFixture serves the session endpoints as httpapi mounts them, a
// protected /api/v1/echo (any method) and a public /healthz, with the real
// user store (cheap hashing) holding alice (responsable) and bob (analyst).
func newFixture(t *testing.T, tls bool, mod func(*httpauth.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &clock{t: time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC)}}
	store, err := userfile.Open(filepath.Join(t.TempDir(), "users.json"), userfile.Options{Now: f.clock.Now, Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	f.store = store
	for _, u := range []userfile.User{
		{ID: "alice", Role: domain.RoleResponsable, Establishments: []string{"770110054"}},
		{ID: "bob", Role: domain.RoleAnalyst},
	} {
		if err := store.Add(u, pw); err != nil {
			t.Fatal(err)
		}
	}
	cfg := httpauth.Config{Users: countingStore{store, &f.guesses}, Now: f.clock.Now, OnLoginFailure: func() { f.failures.Add(1) }}
	if mod != nil {
		mod(&cfg)
	}
	auth := httpauth.New(cfg)
	f.auth = auth
	r := mux.NewRouter()
	r.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	api := r.PathPrefix("/api/v1").Subrouter()
	api.Use(auth.Middleware)
	api.Handle("/session", auth.LoginHandler()).Methods(http.MethodPost)
	api.Handle("/session", auth.MeHandler()).Methods(http.MethodGet)
	api.Handle("/session", auth.LogoutHandler()).Methods(http.MethodDelete)
	api.Handle("/echo", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := httpauth.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "%s %s %s", r.Method, p.UserID, strings.Join(p.Establishments, ","))
		if v := r.PostFormValue("figure"); v != "" {
			fmt.Fprintf(w, " figure=%s", v) // the form is still readable past the middleware
		}
	})))
	if tls {
		f.srv = httptest.NewTLSServer(r)
	} else {
		f.srv = httptest.NewServer(r)
	}
	t.Cleanup(f.srv.Close)
	return f
}

// req is a request to send; zero fields are left out.
type req struct {
	method, path, body string
	contentType        string // default application/json when there is a body
	cookie, csrf       string
	device             string // device cookie value
	bearer             string
	authorization      string // raw Authorization header
	xff                string
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) do(q req) resp {
	f.t.Helper()
	r, err := http.NewRequest(q.method, f.srv.URL+q.path, strings.NewReader(q.body))
	if err != nil {
		f.t.Fatal(err)
	}
	if q.contentType == "none" {
		// no Content-Type
	} else if q.contentType != "" {
		r.Header.Set("Content-Type", q.contentType)
	} else if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: q.cookie})
	}
	if q.device != "" {
		r.AddCookie(&http.Cookie{Name: httpauth.DeviceCookieName, Value: q.device})
	}
	if q.csrf != "" {
		r.Header.Set(httpauth.CSRFHeader, q.csrf)
	}
	if q.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	if q.authorization != "" {
		r.Header.Set("Authorization", q.authorization)
	}
	if q.xff != "" {
		r.Header.Set("X-Forwarded-For", q.xff)
	}
	res, err := f.srv.Client().Do(r)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

func loginBody(id, password string) string {
	b, _ := json.Marshal(map[string]string{"identifier": id, "password": password})
	return string(b)
}

func (f *fixture) loginFrom(xff, id, password string) resp {
	f.t.Helper()
	return f.do(req{method: "POST", path: "/api/v1/session", body: loginBody(id, password), xff: xff})
}

func (f *fixture) login(id, password string) resp {
	f.t.Helper()
	return f.loginFrom("", id, password)
}

type sessionView struct {
	UserID         string    `json:"user_id"`
	Role           string    `json:"role"`
	Establishments []string  `json:"establishments"`
	CSRFToken      string    `json:"csrf_token"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// mustLogin logs id in and returns its cookie value and CSRF token.
func (f *fixture) mustLogin(id string) (string, string) {
	f.t.Helper()
	res := f.login(id, pw)
	if res.status != http.StatusCreated {
		f.t.Fatalf("login %s: %d %s", id, res.status, res.body)
	}
	var v sessionView
	if err := json.Unmarshal([]byte(res.body), &v); err != nil {
		f.t.Fatal(err)
	}
	return sessionCookie(f.t, res).Value, v.CSRFToken
}

func sessionCookie(t *testing.T, res resp) *http.Cookie {
	t.Helper()
	return namedCookie(t, res, httpauth.CookieName)
}

func namedCookie(t *testing.T, res resp, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, res.header.Values("Set-Cookie"))
	return nil
}

func problemCode(t *testing.T, res resp) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal([]byte(res.body), &p); err != nil {
		t.Fatalf("not a problem: %d %q", res.status, res.body)
	}
	return p.Code
}

func expect(t *testing.T, what string, res resp, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: got %d %s, want %d", what, res.status, res.body, status)
	}
	if code != "" {
		if got := problemCode(t, res); got != code {
			t.Fatalf("%s: got code %q, want %q (%s)", what, got, code, res.body)
		}
	}
}

func TestLoginAnswersTheSession(t *testing.T) {
	f := newFixture(t, false, nil)
	res := f.login("alice", pw)
	expect(t, "login", res, http.StatusCreated, "")
	var v sessionView
	if err := json.Unmarshal([]byte(res.body), &v); err != nil {
		t.Fatal(err)
	}
	if v.UserID != "alice" || v.Role != "responsable" || !slices.Equal(v.Establishments, []string{"770110054"}) ||
		len(v.CSRFToken) != 43 || !v.ExpiresAt.Equal(f.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("got %+v", v)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	c := sessionCookie(t, res)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge != 0 || len(c.Value) != 43 {
		t.Fatalf("cookie %+v", c)
	}
	if c.Value == v.CSRFToken {
		t.Fatal("the CSRF token is the session id")
	}
	// bob's establishments are [] not null.
	res = f.login("bob", pw)
	if !strings.Contains(res.body, `"establishments":[]`) {
		t.Fatalf("got %s", res.body)
	}
}

func TestSecureCookie(t *testing.T) {
	f := newFixture(t, false, func(c *httpauth.Config) { c.Secure = true })
	if c := sessionCookie(t, f.login("alice", pw)); !c.Secure {
		t.Fatal("Config.Secure: cookie not Secure")
	}
	f = newFixture(t, true, nil)
	if c := sessionCookie(t, f.login("alice", pw)); !c.Secure {
		t.Fatal("over TLS: cookie not Secure")
	}
}

// Wrong password and unknown identifier are told apart by nothing.
func TestBadCredentialsAllLookTheSame(t *testing.T) {
	f := newFixture(t, false, func(c *httpauth.Config) { c.MaxFailuresPerIdentifier, c.MaxFailuresPerAddress = 100, 100 })
	wrong := f.login("alice", pw+"!")
	expect(t, "wrong password", wrong, http.StatusUnauthorized, "unauthorized")
	for _, tc := range []struct{ id, password string }{
		{"nobody", pw}, {"alice", "short"}, {"not an id!", pw}, {strings.Repeat("a", 1000), pw},
	} {
		res := f.login(tc.id, tc.password)
		if res.status != wrong.status || res.body != wrong.body || res.header.Get("WWW-Authenticate") != wrong.header.Get("WWW-Authenticate") {
			t.Errorf("login(%.20q, %q): %d %s; want as a wrong password: %d %s", tc.id, tc.password, res.status, res.body, wrong.status, wrong.body)
		}
		if len(res.header.Values("Set-Cookie")) != 0 {
			t.Errorf("a failed login set a cookie")
		}
	}
	if n := f.failures.Load(); n != 5 {
		t.Fatalf("OnLoginFailure called %d times, want 5", n)
	}
}

func TestMalformedLogins(t *testing.T) {
	f := newFixture(t, false, nil)
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"malformed JSON", `{"identifier":"alice",`, "", 400, "invalid"},
		{"unknown field", `{"identifier":"alice","password":"` + pw + `","remember":true}`, "", 400, "invalid"},
		{"trailing data", loginBody("alice", pw) + `{}`, "", 400, "invalid"},
		{"an array", `[]`, "", 400, "invalid"},
		{"empty body", ``, "application/json", 400, "invalid"},
		{"missing password", `{"identifier":"alice"}`, "", 400, "invalid"},
		{"password a number", `{"identifier":"alice","password":12}`, "", 400, "invalid"},
		{"form", "identifier=alice&password=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"text", loginBody("alice", pw), "text/plain", 415, "unsupported_media_type"},
		{"no content type", loginBody("alice", pw), "none", 415, "unsupported_media_type"},
		{"oversized", `{"identifier":"alice","password":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413, "too_large"},
	} {
		res := f.do(req{method: "POST", path: "/api/v1/session", body: tc.body, contentType: tc.contentType})
		if res.status != tc.status || problemCode(t, res) != tc.code {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, res.status, res.body, tc.status, tc.code)
		}
	}
	// With a charset parameter it is fine.
	res := f.do(req{method: "POST", path: "/api/v1/session", body: loginBody("alice", pw), contentType: "application/json; charset=utf-8"})
	expect(t, "charset", res, http.StatusCreated, "")
	if n := f.failures.Load(); n != 0 {
		t.Fatalf("malformed requests counted as %d failed logins", n)
	}
}

func TestCSRF(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	f := newFixture(t, false, nil)
	cookie, csrf := f.mustLogin("alice")
	tok, err := f.store.NewToken("bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    req
		want int
		body string
	}{
		{"cookie GET, no token needed", req{method: "GET", cookie: cookie}, 200, "GET alice 770110054"},
		{"cookie HEAD", req{method: "HEAD", cookie: cookie}, 200, ""},
		{"cookie POST without token", req{method: "POST", cookie: cookie}, 403, "X-CSRF-Token manquant"},
		{"cookie PUT with a wrong token", req{method: "PUT", cookie: cookie, csrf: csrf[:42] + "x"}, 403, "X-CSRF-Token erroné"},
		{"cookie DELETE with another session's id", req{method: "DELETE", cookie: cookie, csrf: cookie}, 403, "erroné"},
		{"cookie PATCH with the token", req{method: "PATCH", cookie: cookie, csrf: csrf}, 200, "PATCH alice"},
		{"cookie POST with the token", req{method: "POST", cookie: cookie, csrf: csrf}, 200, "POST alice"},
		{"form POST with the token in its field", req{method: "POST", cookie: cookie, contentType: form,
			body: "figure=3&" + httpauth.CSRFField + "=" + url.QueryEscape(csrf)}, 200, "POST alice 770110054 figure=3"},
		{"form POST without the field", req{method: "POST", cookie: cookie, contentType: form, body: "figure=3"}, 403, "X-CSRF-Token manquant"},
		{"form POST with a wrong field", req{method: "POST", cookie: cookie, contentType: form,
			body: httpauth.CSRFField + "=" + url.QueryEscape(csrf[:42]+"x")}, 403, "erroné"},
		{"form POST too large to read the token", req{method: "POST", cookie: cookie, contentType: form,
			body: "figure=" + strings.Repeat("9", httpauth.MaxFormSize) + "&" + httpauth.CSRFField + "=" + url.QueryEscape(csrf)}, 403, "manquant"},
		{"JSON body carrying the field is not a form", req{method: "POST", cookie: cookie,
			body: `{"` + httpauth.CSRFField + `":"` + csrf + `"}`}, 403, "manquant"},
		{"bearer POST without token", req{method: "POST", bearer: tok}, 200, "POST bob"},
		{"bearer wins over the cookie", req{method: "POST", bearer: tok, cookie: cookie}, 200, "POST bob"},
		{"nothing", req{method: "GET"}, 401, "identifiez-vous"},
		{"unknown cookie", req{method: "POST", cookie: strings.Repeat("A", 43)}, 401, "identifiez-vous"},
		{"bad bearer", req{method: "GET", bearer: "dispo_" + strings.Repeat("A", 43)}, 401, "jeton n'est pas valable"},
		{"basic auth", req{method: "GET", authorization: "Basic YWxpY2U6c2VjcmV0"}, 401, "non pris en charge"},
	} {
		tc.q.path = "/api/v1/echo"
		res := f.do(tc.q)
		if res.status != tc.want || !strings.Contains(res.body, tc.body) {
			t.Errorf("%s: got %d %s, want %d %q", tc.name, res.status, res.body, tc.want, tc.body)
		}
		if res.status == 403 && problemCode(t, res) != "forbidden" {
			t.Errorf("%s: code %s", tc.name, problemCode(t, res))
		}
		if res.status == 401 && res.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	// Public routes pass without credentials.
	if res := f.do(req{method: "GET", path: "/healthz"}); res.status != 200 {
		t.Fatalf("healthz: %d", res.status)
	}
}

func TestMeAndLogout(t *testing.T) {
	f := newFixture(t, false, nil)
	cookie, csrf := f.mustLogin("alice")
	res := f.do(req{method: "GET", path: "/api/v1/session", cookie: cookie})
	var v sessionView
	json.Unmarshal([]byte(res.body), &v)
	if res.status != 200 || v.UserID != "alice" || v.CSRFToken != csrf {
		t.Fatalf("me: %d %s", res.status, res.body)
	}
	tok, _ := f.store.NewToken("bob")
	res = f.do(req{method: "GET", path: "/api/v1/session", bearer: tok})
	if res.status != 200 || strings.Contains(res.body, "csrf_token") || strings.Contains(res.body, "expires_at") || !strings.Contains(res.body, `"user_id":"bob"`) {
		t.Fatalf("me by token: %d %s", res.status, res.body)
	}
	expect(t, "me without credentials", f.do(req{method: "GET", path: "/api/v1/session"}), 401, "unauthorized")

	expect(t, "logout without CSRF", f.do(req{method: "DELETE", path: "/api/v1/session", cookie: cookie}), 403, "forbidden")
	res = f.do(req{method: "DELETE", path: "/api/v1/session", cookie: cookie, csrf: csrf})
	expect(t, "logout", res, 204, "")
	if c := sessionCookie(t, res); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout cookie %+v", c)
	}
	res = f.do(req{method: "GET", path: "/api/v1/session", cookie: cookie})
	expect(t, "me after logout", res, 401, "unauthorized")
	if c := sessionCookie(t, res); c.MaxAge >= 0 {
		t.Fatal("an ended session's cookie is not cleared")
	}
	expect(t, "logout by token", f.do(req{method: "DELETE", path: "/api/v1/session", bearer: tok}), 204, "")
}

func TestSessionsExpire(t *testing.T) {
	f := newFixture(t, false, nil)
	cookie, _ := f.mustLogin("alice")
	f.clock.Advance(29 * time.Minute)
	expect(t, "after 29 min idle", f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}), 200, "")
	f.clock.Advance(29 * time.Minute) // slid: 58 min after login, 29 after the last request
	res := f.do(req{method: "GET", path: "/api/v1/session", cookie: cookie})
	var v sessionView
	json.Unmarshal([]byte(res.body), &v)
	if res.status != 200 || !v.ExpiresAt.Equal(f.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("sliding: %d %s", res.status, res.body)
	}
	f.clock.Advance(30 * time.Minute)
	expect(t, "after 30 min idle", f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}), 401, "unauthorized")

	// Busy all day: the absolute lifetime ends it at 8 h.
	cookie, _ = f.mustLogin("alice")
	for i := 0; i < 8*3-1; i++ {
		f.clock.Advance(20 * time.Minute)
		expect(t, fmt.Sprintf("busy, %d min", 20*(i+1)), f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}), 200, "")
	}
	res = f.do(req{method: "GET", path: "/api/v1/session", cookie: cookie})
	json.Unmarshal([]byte(res.body), &v)
	if !v.ExpiresAt.Equal(f.clock.Now().Add(20 * time.Minute)) {
		t.Fatalf("expires_at %v near the end of the 8 h, want the absolute end", v.ExpiresAt)
	}
	f.clock.Advance(20 * time.Minute)
	expect(t, "after 8 h", f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}), 401, "unauthorized")
}

func TestCustomLifetimes(t *testing.T) {
	f := newFixture(t, false, func(c *httpauth.Config) { c.SessionTTL, c.IdleTimeout = time.Hour, 5*time.Minute })
	cookie, _ := f.mustLogin("bob")
	f.clock.Advance(5 * time.Minute)
	expect(t, "after the idle timeout", f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}), 401, "")
}

func TestUserChangesApplyToSessions(t *testing.T) {
	f := newFixture(t, false, nil)
	cookie, _ := f.mustLogin("alice")
	if err := f.store.Grant("alice", "750000001"); err != nil {
		t.Fatal(err)
	}
	res := f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie})
	if res.body != "GET alice 750000001,770110054" {
		t.Fatalf("after a grant: %s", res.body)
	}
	tok, _ := f.store.NewToken("alice")
	if err := f.store.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	expect(t, "session of a removed user", f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}), 401, "")
	expect(t, "token of a removed user", f.do(req{method: "GET", path: "/api/v1/echo", bearer: tok}), 401, "")
}

func TestRelogin(t *testing.T) {
	f := newFixture(t, false, func(c *httpauth.Config) { c.MaxSessionsPerUser = 2 })
	first, _ := f.mustLogin("alice")
	// Logging in again with the cookie, without a CSRF token, ends the first session.
	res := f.do(req{method: "POST", path: "/api/v1/session", body: loginBody("bob", pw), cookie: first})
	expect(t, "re-login", res, 201, "")
	expect(t, "the first session", f.do(req{method: "GET", path: "/api/v1/echo", cookie: first}), 401, "")
	// At most 2 sessions per user: the least recently used ends.
	f.clock.Advance(time.Minute)
	a, _ := f.mustLogin("bob")
	f.clock.Advance(time.Minute)
	b, _ := f.mustLogin("bob")
	f.clock.Advance(time.Minute)
	f.do(req{method: "GET", path: "/api/v1/echo", cookie: a})
	f.clock.Advance(time.Minute)
	c, _ := f.mustLogin("bob")
	for cookie, want := range map[string]int{a: 200, b: 401, c: 200} {
		if res := f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}); res.status != want {
			t.Errorf("got %d, want %d", res.status, want)
		}
	}
}

// A user file damaged while the server runs: logins fail closed with 500,
// and are not counted as failures.
func TestDamagedUserFile(t *testing.T) {
	var logged atomic.Int32
	f := newFixture(t, false, func(c *httpauth.Config) {
		c.MaxFailuresPerIdentifier = 1
		c.LogError = func(*http.Request, error) { logged.Add(1) }
	})
	cookie, _ := f.mustLogin("alice")
	os.WriteFile(f.store.Path(), []byte("{garbage"), 0o600)
	expect(t, "login", f.login("alice", pw), 500, "internal")
	expect(t, "login again", f.login("alice", pw), 500, "internal")
	expect(t, "session", f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}), 500, "internal")
	if logged.Load() != 3 || f.failures.Load() != 0 {
		t.Fatalf("logged %d, failures %d", logged.Load(), f.failures.Load())
	}
	if res := f.login("alice", pw); strings.Contains(res.body, "garbage") || strings.Contains(res.body, "damaged") {
		t.Fatalf("the internal error is shown: %s", res.body)
	}
}

// Run with -race.
func TestConcurrentLogins(t *testing.T) {
	// Attempts in progress count as failures until they succeed: the
	// identifier's limit is raised so that 8 parallel logins of bob pass.
	f := newFixture(t, false, func(c *httpauth.Config) { c.MaxConcurrentLogins, c.MaxFailuresPerIdentifier = 2, 100 })
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				res := f.login("bob", pw)
				if res.status != 201 {
					t.Errorf("login: %d %s", res.status, res.body)
					return
				}
				c := sessionCookie(t, res)
				f.do(req{method: "GET", path: "/api/v1/echo", cookie: c.Value})
			}
		}()
	}
	wg.Wait()
}

// The principal can be put in a context by hand, for handler tests.
func TestWithPrincipal(t *testing.T) {
	p := domain.Principal{UserID: "x", Role: domain.RoleAdmin}
	got, ok := httpauth.PrincipalFrom(httpauth.WithPrincipal(t.Context(), p))
	if !ok || got.UserID != "x" {
		t.Fatalf("got %+v %v", got, ok)
	}
	if _, ok := httpauth.PrincipalFrom(t.Context()); ok {
		t.Fatal("a principal in an empty context")
	}
}

// A new password or role ends the user's sessions at their next request,
// whoever changed the file (here another Store on it, as `dispo users`
// is); habilitations and names apply to the sessions without ending them.
func TestCredentialChangesEndSessions(t *testing.T) {
	f := newFixture(t, false, nil)
	other, err := userfile.Open(f.store.Path(), userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := f.mustLogin("alice")
	bob, _ := f.mustLogin("bob")
	if err := other.Grant("alice", "750000001"); err != nil {
		t.Fatal(err)
	}
	expect(t, "after a grant", f.do(req{method: "GET", path: "/api/v1/echo", cookie: alice}), 200, "")
	if err := other.SetPassword("alice", "another password entirely"); err != nil {
		t.Fatal(err)
	}
	res := f.do(req{method: "GET", path: "/api/v1/echo", cookie: alice})
	expect(t, "after a new password", res, 401, "unauthorized")
	if c := sessionCookie(t, res); c.MaxAge >= 0 {
		t.Fatal("the ended session's cookie is not cleared")
	}
	expect(t, "bob's session", f.do(req{method: "GET", path: "/api/v1/echo", cookie: bob}), 200, "")
	if err := other.SetRole("bob", "auditor"); err != nil {
		t.Fatal(err)
	}
	expect(t, "after a new role", f.do(req{method: "GET", path: "/api/v1/echo", cookie: bob}), 401, "unauthorized")
	// The same password set again is a change too (a new salt): whoever
	// was logged in must log in again.
	bob, _ = f.mustLogin("bob")
	if err := other.SetPassword("bob", pw); err != nil {
		t.Fatal(err)
	}
	expect(t, "after the same password again", f.do(req{method: "GET", path: "/api/v1/echo", cookie: bob}), 401, "")
	f.mustLogin("bob")
}

func TestEndSessions(t *testing.T) {
	f := newFixture(t, false, nil)
	a1, _ := f.mustLogin("alice")
	a2, _ := f.mustLogin("alice")
	b, _ := f.mustLogin("bob")
	if n := f.auth.EndSessions("alice"); n != 2 {
		t.Fatalf("EndSessions ended %d, want 2", n)
	}
	for cookie, want := range map[string]int{a1: 401, a2: 401, b: 200} {
		if res := f.do(req{method: "GET", path: "/api/v1/echo", cookie: cookie}); res.status != want {
			t.Errorf("got %d, want %d", res.status, want)
		}
	}
	if n := f.auth.EndSessions("alice"); n != 0 {
		t.Fatalf("EndSessions again ended %d", n)
	}
}

func TestJSONLoginRefusesAnAdministratorsPassword(t *testing.T) {
	f := newFixture(t, false, nil)
	if err := f.store.Add(userfile.User{ID: "nouvelle", Role: domain.RoleProfessionnel, MustChangePassword: true}, pw); err != nil {
		t.Fatal(err)
	}
	res := f.login("nouvelle", pw)
	expect(t, "an administrator's password", res, http.StatusForbidden, httpauth.CodePasswordChangeRequired)
	if strings.Contains(strings.Join(res.header.Values("Set-Cookie"), " "), httpauth.CookieName+"=") {
		t.Fatal("a session was opened")
	}
	if !strings.Contains(res.body, "/compte") {
		t.Fatalf("the refusal does not say where to go: %s", res.body)
	}
	// A wrong password still gets the one answer of bad credentials.
	expect(t, "a wrong password", f.login("nouvelle", "not the password at all"), http.StatusUnauthorized, "unauthorized")
}
