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
		switch {
		case req.Identifier == "":
			a.cfg.Problem(w, r, http.StatusBadRequest, domain.EInvalid, "identifier", "l'identifiant est obligatoire")
			return
		case req.Password == "":
			a.cfg.Problem(w, r, http.StatusBadRequest, domain.EInvalid, "password", "le mot de passe est obligatoire")
			return
		}
		at := a.cfg.Now()
		try := attempt{addr: a.clientAddr(r)}
		if userfile.ValidID(req.Identifier) { // others cannot exist: limited per address only
			try.id = req.Identifier
			_, err := a.cfg.Users.Principal(req.Identifier)
			try.known = domain.ErrorCode(err) != domain.ENotFound
			try.device = a.device(r, try.id, at)
		}
		if wait := a.throttle.begin(try, at); wait > 0 {
			secs := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			a.cfg.Problem(w, r, http.StatusTooManyRequests, CodeLoginThrottled, "identifier",
				"trop d'échecs de connexion pour cet identifiant ou depuis cette adresse : réessayez dans "+frenchDuration(secs))
			return
		}
		select {
		case a.logins <- struct{}{}:
		case <-r.Context().Done():
			a.throttle.cancel(try)
			return
		}
		// The stamp is read before the verification: should the password
		// change in between, the session holds the older stamp and ends at
		// once, never the other way round.
		stamp, err := a.stamp(req.Identifier)
		var p domain.Principal
		if err == nil {
			p, err = a.cfg.Users.Authenticate(req.Identifier, req.Password)
		}
		<-a.logins
		switch {
		case errors.Is(err, userfile.ErrBadCredentials):
			if a.cfg.OnLoginFailure != nil {
				a.cfg.OnLoginFailure()
			}
			a.unauthorized(w, r, "", "identifiant ou mot de passe incorrect")
			return
		case err != nil:
			a.throttle.cancel(try)
			a.internal(w, r, err)
			return
		}
		a.throttle.succeeded(try)
		if c, err := r.Cookie(CookieName); err == nil {
			a.sessions.remove(c.Value)
		}
		now := a.cfg.Now()
		cookie, s := a.sessions.create(p.UserID, stamp, now)
		http.SetCookie(w, a.cookie(r, cookie))
		a.setDeviceCookie(w, r, p.UserID, now)
		writeJSON(w, http.StatusCreated, view(p, s, true))
	})
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
		if _, ok := sessionFrom(r.Context()); ok {
			if c, err := r.Cookie(CookieName); err == nil {
				a.sessions.remove(c.Value)
			}
			a.clearCookie(w, r)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}))
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
