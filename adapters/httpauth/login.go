package httpauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"dispo/adapters/userfile"
	"dispo/domain"
)

// MaxBodySize bounds a login request's body.
const MaxBodySize = 64 << 10

type loginRequest struct {
	Identifier string `json:"identifier"`
	Password   string `json:"password"`
}

// sessionJSON is the answer of login and of GET /session.
type sessionJSON struct {
	UserID         string      `json:"user_id"`
	Role           domain.Role `json:"role"`
	Establishments []string    `json:"establishments"`
	CSRFToken      string      `json:"csrf_token,omitempty"` // for sessions only
	ExpiresAt      time.Time   `json:"expires_at,omitzero"`  // for sessions only
}

func view(p domain.Principal, s session, ok bool) sessionJSON {
	v := sessionJSON{UserID: p.UserID, Role: p.Role, Establishments: p.Establishments}
	if v.Establishments == nil {
		v.Establishments = []string{}
	}
	if ok {
		v.CSRFToken, v.ExpiresAt = s.csrf, s.expires().UTC()
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// LoginHandler serves POST /api/v1/session: body {"identifier","password"}
// as application/json, at most 64 KiB, unknown keys refused. Answers 201
// with the session, its cookie and a device cookie; 401 unauthorized for
// bad credentials (one detail whatever was wrong); 429 login_throttled with
// Retry-After when the attempt must wait (the password is then not
// checked); 400 invalid, 413 too_large or 415 unsupported_media_type for a
// malformed request. A session cookie sent along ends that session.
func (a *Auth) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req loginRequest
		if !a.decode(w, r, &req) {
			return
		}
		p, s, err := a.login(w, r, req.Identifier, req.Password, true)
		var le *LoginError
		switch {
		case errors.As(err, &le):
			if le.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(le.RetryAfter/time.Second)))
			}
			if le.Status == http.StatusUnauthorized {
				a.unauthorized(w, r, le.Field, le.Detail)
				return
			}
			a.cfg.Problem(w, r, le.Status, le.Code, le.Field, le.Detail)
			return
		case err != nil:
			a.internal(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, view(p, s, true))
	})
}

// The fields a LoginError names (the JSON login's keys; a form maps them
// to its own).
const (
	FieldIdentifier = "identifier"
	FieldPassword   = "password"
)

// LoginError is a login refused: bad credentials, a throttled attempt or a
// missing field. Its Detail is in French, for the person.
type LoginError struct {
	Status     int    // the HTTP status the API answers it with
	Code       string // the API's problem code
	Field      string // FieldIdentifier, FieldPassword or ""
	Detail     string
	RetryAfter time.Duration // a throttled attempt: how long to wait, whole seconds
}

func (e *LoginError) Error() string { return e.Detail }

// Login checks identifier and password under the throttle and, if they
// are right, opens a session: its cookie and a device cookie are set on w,
// and a session cookie r carried ends. The JSON login and the web form both
// come here, so that they share the sessions and the throttle. A refusal is
// a *LoginError; any other error is internal (the user store cannot be
// read) and the client should only be told "erreur interne".
func (a *Auth) Login(w http.ResponseWriter, r *http.Request, identifier, password string) (domain.Principal, error) {
	p, _, err := a.login(w, r, identifier, password, false)
	return p, err
}

// CodePasswordChangeRequired refuses a JSON login with a password an
// administrator chose: its owner chooses their own on the web page first.
const CodePasswordChangeRequired = "password_change_required"

// PasswordChanger is a user store that tells when a password is one an
// administrator chose (userfile.Store is one).
type PasswordChanger interface {
	MustChangePassword(id string) (bool, error)
}

// login is Login; api: the JSON door, which refuses an administrator's
// password (the web page's door lets it in, to the page that changes it).
func (a *Auth) login(w http.ResponseWriter, r *http.Request, identifier, password string, api bool) (domain.Principal, session, error) {
	switch {
	case identifier == "":
		return domain.Principal{}, session{}, &LoginError{Status: http.StatusBadRequest, Code: domain.EInvalid, Field: FieldIdentifier, Detail: "l'identifiant est obligatoire"}
	case password == "":
		return domain.Principal{}, session{}, &LoginError{Status: http.StatusBadRequest, Code: domain.EInvalid, Field: FieldPassword, Detail: "le mot de passe est obligatoire"}
	}
	at := a.cfg.Now()
	try := attempt{addr: a.clientAddr(r)}
	if userfile.ValidID(identifier) { // others cannot exist: limited per address only
		try.id = identifier
		_, err := a.cfg.Users.Principal(identifier)
		try.known = domain.ErrorCode(err) != domain.ENotFound
		try.device = a.device(r, try.id, at)
	}
	if wait := a.throttle.begin(try, at); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return domain.Principal{}, session{}, &LoginError{Status: http.StatusTooManyRequests, Code: CodeLoginThrottled, Field: FieldIdentifier,
			Detail:     "trop d'échecs de connexion pour cet identifiant ou depuis cette adresse : réessayez dans " + frenchDuration(secs),
			RetryAfter: time.Duration(secs) * time.Second}
	}
	select {
	case a.logins <- struct{}{}:
	case <-r.Context().Done():
		a.throttle.cancel(try)
		return domain.Principal{}, session{}, r.Context().Err()
	}
	// The stamp is read before the verification: should the password
	// change in between, the session holds the older stamp and ends at
	// once, never the other way round.
	stamp, err := a.stamp(identifier)
	var p domain.Principal
	if err == nil {
		p, err = a.cfg.Users.Authenticate(identifier, password)
	}
	<-a.logins
	switch {
	case errors.Is(err, userfile.ErrBadCredentials):
		if a.cfg.OnLoginFailure != nil {
			a.cfg.OnLoginFailure()
		}
		return domain.Principal{}, session{}, &LoginError{Status: http.StatusUnauthorized, Code: "unauthorized", Detail: "identifiant ou mot de passe incorrect"}
	case err != nil:
		a.throttle.cancel(try)
		return domain.Principal{}, session{}, err
	}
	a.throttle.succeeded(try)
	if pc, ok := a.cfg.Users.(PasswordChanger); ok && api {
		must, err := pc.MustChangePassword(identifier)
		if err != nil {
			return domain.Principal{}, session{}, err
		}
		if must {
			return domain.Principal{}, session{}, &LoginError{Status: http.StatusForbidden, Code: CodePasswordChangeRequired, Field: FieldPassword,
				Detail: "ce mot de passe a été choisi par un administrateur : choisissez le vôtre d'abord, dans un navigateur (page Mon compte, /compte), puis reconnectez-vous"}
		}
	}
	if c, err := r.Cookie(CookieName); err == nil {
		a.sessions.remove(c.Value)
	}
	now := a.cfg.Now()
	cookie, s := a.sessions.create(p.UserID, stamp, now)
	http.SetCookie(w, a.cookie(r, cookie))
	a.setDeviceCookie(w, r, p.UserID, now)
	return p, s, nil
}

// Reauthenticate runs check, which verifies id's password (and may change
// it: the page where a person sets their own), as a login attempt: under
// the same throttle and the same bound on verifications in progress, so
// that a stolen session cannot guess the password faster than the login
// page lets anyone. check returning userfile.ErrBadCredentials counts as
// a failed login; a *LoginError (429) says to wait, and check is not run.
func (a *Auth) Reauthenticate(r *http.Request, id string, check func() error) error {
	at := a.cfg.Now()
	try := attempt{addr: a.clientAddr(r), id: id, known: true, device: a.device(r, id, at)}
	if wait := a.throttle.begin(try, at); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return &LoginError{Status: http.StatusTooManyRequests, Code: CodeLoginThrottled, Field: FieldPassword,
			Detail:     "trop d'essais de mot de passe : réessayez dans " + frenchDuration(secs),
			RetryAfter: time.Duration(secs) * time.Second}
	}
	select {
	case a.logins <- struct{}{}:
	case <-r.Context().Done():
		a.throttle.cancel(try)
		return r.Context().Err()
	}
	err := check()
	<-a.logins
	switch {
	case errors.Is(err, userfile.ErrBadCredentials):
		if a.cfg.OnLoginFailure != nil {
			a.cfg.OnLoginFailure()
		}
	case err == nil:
		a.throttle.succeeded(try)
	default:
		a.throttle.cancel(try) // refused for another reason: the password was right
	}
	return err
}

// stamp returns the credential stamp of id if the store keeps them; an
// unknown id has none (its login fails anyway).
func (a *Auth) stamp(id string) (string, error) {
	st, ok := a.cfg.Users.(Stamper)
	if !ok {
		return "", nil
	}
	stamp, err := st.CredentialStamp(id)
	if domain.ErrorCode(err) == domain.ENotFound {
		return "", nil
	}
	return stamp, err
}

// frenchDuration writes secs for a person: "45 s", "3 min", "2 min 5 s".
func frenchDuration(secs int) string {
	m, s := secs/60, secs%60
	switch {
	case m == 0:
		return fmt.Sprintf("%d s", s)
	case s == 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d min %d s", m, s)
}

// MeHandler serves GET /api/v1/session: the caller's principal, and for a
// cookie session its CSRF token and expiry (a page reloaded in the browser
// gets its token back). 401 without credentials.
func (a *Auth) MeHandler() http.Handler {
	return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		s, ok := sessionFrom(r.Context())
		writeJSON(w, http.StatusOK, view(p, s, ok))
	}))
}

// LogoutHandler serves DELETE /api/v1/session: ends the cookie session
// (Middleware requires its CSRF token) and clears the cookie; 204. With a
// bearer token there is nothing to end: 204 too. 401 without credentials.
func (a *Auth) LogoutHandler() http.Handler {
	return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Logout(w, r)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}))
}

// Logout ends the session r was authenticated by, if any, and clears its
// cookie. The JSON logout and the web page's both come here.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request) {
	if _, ok := sessionFrom(r.Context()); ok {
		if c, err := r.Cookie(CookieName); err == nil {
			a.sessions.remove(c.Value)
		}
		a.clearCookie(w, r)
	}
}

// CSRFToken is the CSRF token of the session r was authenticated by ("" for
// a bearer token or no login): the pages put it in their forms.
func CSRFToken(r *http.Request) string {
	s, _ := sessionFrom(r.Context())
	return s.csrf
}

// decode reads a JSON body into v strictly, or answers the problem and
// returns false.
func (a *Auth) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		a.cfg.Problem(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", "le corps doit être du JSON, envoyé avec Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodySize))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("données après l'objet JSON")
			if terr != nil && !errors.Is(terr, io.ErrUnexpectedEOF) {
				err = terr
			}
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooLarge):
		a.cfg.Problem(w, r, http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("le corps dépasse %d Kio", MaxBodySize>>10))
	case errors.Is(err, io.EOF):
		a.cfg.Problem(w, r, http.StatusBadRequest, domain.EInvalid, "", "le corps est vide : envoyez un objet JSON")
	default:
		a.cfg.Problem(w, r, http.StatusBadRequest, domain.EInvalid, "", "corps JSON mal formé ou champ inconnu (attendus : identifier, password)")
	}
	return false
}
