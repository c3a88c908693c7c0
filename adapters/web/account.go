package web

import (
	"errors"
	"net/http"

	"dispo/adapters/httpauth"
	"dispo/adapters/userfile"
	"dispo/domain"
)

// Accounts is what /compte needs of the user store (userfile.Store).
type Accounts interface {
	// MustChangePassword reports whether id's password is one an
	// administrator chose, to be replaced at the first login.
	MustChangePassword(id string) (bool, error)
	// ChangePassword sets id's own password: userfile.ErrBadCredentials if
	// current is wrong, an EInvalid error (French) if next is refused.
	ChangePassword(id, current, next string) error
}

var _ Accounts = (*userfile.Store)(nil)

// AccountPath is the page where a person changes their own password.
const AccountPath = "/compte"

const (
	fieldCurrent = "mot_de_passe_actuel"
	fieldNew     = "nouveau_mot_de_passe"
	fieldConfirm = "confirmation"
)

type accountView struct {
	Required bool // the password is an administrator's: change it first
	Next     string
	Errors   map[string]string
}

// mustChange reports whether r's person must choose a password before
// anything else; an error when the user store cannot tell.
func (s *Server) mustChange(r *http.Request) (bool, error) {
	p, ok := principalOK(r)
	if !ok || s.cfg.Accounts == nil {
		return false, nil
	}
	return s.cfg.Accounts.MustChangePassword(p.UserID)
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Accounts == nil {
		s.errorPage(w, r, http.StatusNotFound, "")
		return
	}
	must, _ := s.mustChange(r) // wrap checked it
	v := accountView{Required: must, Next: r.URL.Query().Get(fieldNext), Errors: map[string]string{}}
	s.render(w, r, http.StatusOK, "account", "Mon compte", false, v)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Accounts == nil {
		s.errorPage(w, r, http.StatusNotFound, "")
		return
	}
	p := principal(r)
	f := r.PostForm
	must, _ := s.mustChange(r)
	v := accountView{Required: must, Next: f.Get(fieldNext), Errors: map[string]string{}}
	current, next := f.Get(fieldCurrent), f.Get(fieldNew)
	switch {
	case current == "":
		v.Errors[fieldCurrent] = "le mot de passe actuel est obligatoire"
	case next == "":
		v.Errors[fieldNew] = "le nouveau mot de passe est obligatoire"
	case next != f.Get(fieldConfirm):
		v.Errors[fieldConfirm] = "la confirmation ne reprend pas le nouveau mot de passe"
	}
	if len(v.Errors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "account", "Mon compte", false, v)
		return
	}
	err := s.cfg.Auth.Reauthenticate(r, p.UserID, func() error { return s.cfg.Accounts.ChangePassword(p.UserID, current, next) })
	var le *httpauth.LoginError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &le):
		v.Errors[fieldCurrent], status = le.Detail, le.Status
		w.Header().Set("Retry-After", formatSeconds(le.RetryAfter.Seconds()))
	case errors.Is(err, userfile.ErrBadCredentials):
		v.Errors[fieldCurrent] = "ce n'est pas votre mot de passe actuel"
	case domain.ErrorCode(err) == domain.EInvalid:
		v.Errors[fieldNew] = domain.ErrorMessage(err)
	case domain.ErrorCode(err) == domain.EConflict:
		v.Errors[fieldCurrent], status = domain.ErrorMessage(err), http.StatusConflict
	case r.Context().Err() != nil:
		return
	case err != nil:
		s.log.Error("changing a password", "user", p.UserID, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	if len(v.Errors) > 0 {
		s.render(w, r, status, "account", "Mon compte", false, v)
		return
	}
	// The change ended every session of the person, this one too: a new
	// one, with the new password, keeps them where they were.
	// As the login page's: its device cookie goes to the login page.
	login := r.Clone(r.Context())
	login.URL.Path = LoginPath
	if _, err := s.cfg.Auth.Login(w, login, p.UserID, next); err != nil {
		http.Redirect(w, r, LoginPath, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, safeNext(v.Next), http.StatusSeeOther)
}
