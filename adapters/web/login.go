package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"dispo/adapters/httpauth"
)

// Login form fields, as the guide names them.
const (
	fieldIdentifier = "identifiant"
	fieldPassword   = "mot_de_passe"
	fieldNext       = "suite"
)

type loginView struct {
	Identifier string
	Next       string
	Errors     map[string]string
	Message    string
	Support    string
}

// safeNext is where to go after the login: a path of this site only, so
// that a link cannot send a person elsewhere once logged in. Browsers drop
// tabs and line breaks from an address and read a backslash as a slash, so
// a path holding any of them, or any control character, is refused whole.
func safeNext(next string) string {
	const home = "/disponibilites/consultation"
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") || strings.HasPrefix(u.Path, LoginPath) {
		return home
	}
	return u.RequestURI()
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	v := loginView{Next: r.URL.Query().Get(fieldNext), Errors: map[string]string{}, Support: s.cfg.Support}
	if _, ok := principalOK(r); ok && v.Next != "" {
		http.Redirect(w, r, safeNext(v.Next), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Connexion", false, v)
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	// No session protects this form yet: a post from another site is refused
	// by the browser's own Origin and Sec-Fetch-Site headers.
	if err := s.csrf.Check(r); err != nil {
		s.errorPage(w, r, http.StatusForbidden, "formulaire envoyé depuis un autre site : ouvrez la page de connexion de dispo et recommencez")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, httpauth.MaxFormSize)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "formulaire illisible")
		return
	}
	v := loginView{Identifier: strings.TrimSpace(r.PostForm.Get(fieldIdentifier)), Next: r.PostForm.Get(fieldNext),
		Errors: map[string]string{}, Support: s.cfg.Support}
	_, err := s.cfg.Auth.Login(w, r, v.Identifier, r.PostForm.Get(fieldPassword))
	var le *httpauth.LoginError
	switch {
	case errors.As(err, &le):
		switch le.Field {
		case httpauth.FieldIdentifier:
			v.Errors[fieldIdentifier] = le.Detail
		case httpauth.FieldPassword:
			v.Errors[fieldPassword] = le.Detail
		default:
			v.Message = le.Detail
		}
		if le.RetryAfter > 0 {
			w.Header().Set("Retry-After", formatSeconds(le.RetryAfter.Seconds()))
		}
		s.render(w, r, le.Status, "login", "Connexion", false, v)
		return
	case err != nil:
		if r.Context().Err() != nil {
			return // the person left
		}
		s.log.Error("web login", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	http.Redirect(w, r, safeNext(v.Next), http.StatusSeeOther)
}

// logout ends the session. A post without the session's CSRF token never
// gets here (httpauth's middleware refuses it), so no other site logs a
// person out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.cfg.Auth.Logout(w, r)
	http.Redirect(w, r, LoginPath, http.StatusSeeOther)
}
