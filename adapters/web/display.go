package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"dispo/adapters/userfile"
	"dispo/domain"
)

// Tokens is what display links need of the user store: the principal a
// bearer token was issued to (userfile.ErrBadCredentials for none).
type Tokens interface {
	AuthenticateToken(token string) (domain.Principal, error)
}

var _ Tokens = (*userfile.Store)(nil)

// DisplayPrefix starts a display link: /affichage/{token} shows the
// consultation of a wall screen in a care unit, read-only, with no login
// nor session to time out. The token is a bearer token of a professionnel
// account (dispo users token ID --display); revoking the account's tokens
// ends the link at its next request.
const DisplayPrefix = "/affichage/"

type display struct {
	base  string // /affichage/{token}
	label string // the account's identifier, shown on the screen
}

type displayKey struct{}

func displayFrom(r *http.Request) (display, bool) {
	d, ok := r.Context().Value(displayKey{}).(display)
	return d, ok
}

// displayed serves h as a display link's page: the token of the path must
// be a professionnel's (consultation only, whatever else the pages offer).
func (s *Server) displayed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.PathValue("jeton")
		if s.cfg.Tokens == nil {
			s.errorPage(w, r, http.StatusNotFound, "")
			return
		}
		p, err := s.cfg.Tokens.AuthenticateToken(token)
		switch {
		case errors.Is(err, userfile.ErrBadCredentials):
			s.errorPage(w, r, http.StatusNotFound, "ce lien d'affichage n'est pas valable : il a été révoqué ou mal recopié ; demandez-en un nouveau à l'administrateur")
			return
		case err != nil:
			s.log.Error("display link", "err", err)
			s.errorPage(w, r, http.StatusInternalServerError, "")
			return
		case p.Role != domain.RoleProfessionnel:
			s.errorPage(w, r, http.StatusForbidden, "un lien d'affichage se fait avec le jeton d'un compte « professionnel de santé », qui ne peut que consulter")
			return
		}
		d := display{base: strings.TrimSuffix(DisplayPrefix, "/") + "/" + url.PathEscape(token), label: p.UserID}
		h(w, r.WithContext(context.WithValue(r.Context(), displayKey{}, d)))
	}
}

// stillValid reports whether what r was let in by still holds: its display
// link is not revoked, its session has not ended. A live stream ends when
// it does not.
func (s *Server) stillValid(r *http.Request) bool {
	if _, ok := displayFrom(r); !ok {
		return s.cfg.Auth.Alive(r)
	}
	_, err := s.cfg.Tokens.AuthenticateToken(r.PathValue("jeton"))
	return err == nil
}
