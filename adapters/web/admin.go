package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"dispo/adapters/userfile"
	"dispo/domain"
	"dispo/projections"
)

// Directory is what the Administration page reads of the user store.
type Directory interface {
	List() ([]userfile.UserInfo, error)
}

var _ Directory = (*userfile.Store)(nil)

type accountLine struct {
	userfile.UserInfo
	RoleFR         string
	Establishments string // FINESS and name, as the directory knows them
	Display        bool   // a professionnel with tokens: display links
}

type adminView struct {
	Accounts              []accountLine
	Units, Retired, Pools int
	Establishments        int
}

// administration shows an administrator the accounts and habilitations,
// the display links in force and the directory's size, with the commands
// that change them (on the server's machine; through the pages with the
// directory in the ledger, later).
func (s *Server) administration(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Directory == nil {
		s.errorPage(w, r, http.StatusNotFound, "")
		return
	}
	users, err := s.cfg.Directory.List()
	if err != nil {
		s.log.Error("listing the accounts", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	var v adminView
	names := map[string]string{}
	s.cfg.Live.View(func(a *projections.Availability) {
		pools := map[string]bool{}
		for _, u := range a.Units() {
			names[u.FINESS] = u.Establishment
			v.Units++
			if u.Pool != nil {
				pools[u.Pool.ID] = true
			}
		}
		v.Pools, v.Establishments = len(pools), len(names)
	})
	for _, u := range users {
		l := accountLine{UserInfo: u, RoleFR: roleLabels[u.Role], Display: u.Role == domain.RoleProfessionnel && u.Tokens > 0}
		var est []string
		for _, f := range u.Establishments {
			if n := names[f]; n != "" {
				f += " (" + n + ")"
			}
			est = append(est, f)
		}
		l.Establishments = strings.Join(est, ", ")
		v.Accounts = append(v.Accounts, l)
	}
	slices.SortFunc(v.Accounts, func(a, b accountLine) int { return strings.Compare(a.ID, b.ID) })
	s.render(w, r, http.StatusOK, "admin", "Administration", false, v)
}

func created(t time.Time) string { return domain.FormatParis(t) }
