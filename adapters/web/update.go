package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"dispo/domain"
	"dispo/projections"
)

// Form field names of a Mise à jour row, and the domain's fields they carry.
const (
	fieldAvailable = "disponible"
	fieldInstalled = "installees"
	fieldClosed    = "fermees"
	fieldComment   = "commentaire"
	fieldRevision  = "revision"
	fieldReason    = "motif"
	fieldEnd       = "fin_prevue"
	fieldReopen    = "reactivable"
)

// formFields maps the domain's field names to the form's.
var formFields = map[string]string{
	"available":     fieldAvailable,
	"installed":     fieldInstalled,
	"closed_places": fieldClosed,
	"comment":       fieldComment,
	"reason":        fieldReason,
	"planned_end":   fieldEnd,
	"start":         fieldEnd,
}

// rowForm is a Mise à jour row: the unit, what the form shows (the figures
// typed when the save was refused), and the errors by field.
type rowForm struct {
	unitLine
	Values   map[string]string
	Errors   map[string]string
	Message  string // a message for the whole row (a conflict, a closed unit)
	Saved    bool
	Revision int64
}

type updateView struct {
	Rows    []rowForm
	Overdue int
	Places  bool
}

// mine returns the units p declares for, sorted as the detail sorts them.
func mine(a *projections.Availability, p domain.Principal) []projections.UnitView {
	var out []projections.UnitView
	for _, u := range a.Units() {
		if slices.Contains(p.Establishments, u.FINESS) {
			out = append(out, u)
		}
	}
	return out
}

func formOf(u projections.UnitView, now time.Time) rowForm {
	f := rowForm{unitLine: lineOf(u, now, asOf{}), Revision: u.Revision, Errors: map[string]string{}, Values: map[string]string{
		fieldAvailable: strconv.Itoa(u.Available),
		fieldInstalled: strconv.Itoa(u.Installed),
		fieldClosed:    strconv.Itoa(u.ClosedPlaces),
		fieldComment:   u.Comment,
	}}
	if u.Pool != nil {
		f.Values[fieldAvailable] = strconv.Itoa(u.Pool.Available)
	}
	if u.AwaitingDeclaration {
		f.Values[fieldAvailable] = ""
	}
	return f
}

// updatePage is "Saisie des disponibilités": a row per unit of the
// person's establishments. Only a responsable has one.
func (s *Server) updatePage(w http.ResponseWriter, r *http.Request) {
	s.renderUpdate(w, r, http.StatusOK, r.URL.Query().Get("enregistre"), nil)
}

// renderUpdate renders the page; replace, if set, stands for its unit's row
// (a refused save shows what was typed, and why).
func (s *Server) renderUpdate(w http.ResponseWriter, r *http.Request, status int, saved string, replace *rowForm) {
	p := principal(r)
	if p.Role != domain.RoleResponsable {
		s.errorPage(w, r, http.StatusForbidden, "la mise à jour des disponibilités est réservée aux responsables de disponibilités")
		return
	}
	now := s.cfg.Now()
	var v updateView
	s.cfg.Live.View(func(a *projections.Availability) {
		for _, u := range mine(a, p) {
			f := formOf(u, now)
			if replace != nil && replace.ID == u.ID {
				f = *replace
			}
			f.Saved = u.ID == saved
			if projections.Overdue(u.LastDeclaredAt, now) && !u.IsUnitClosed() {
				v.Overdue++
			}
			if t, ok := domain.LookupType(u.Type); ok && t.Category == "dialyse" {
				v.Places = true
			}
			v.Rows = append(v.Rows, f)
		}
	})
	s.render(w, r, status, "update", "Mise à jour des disponibilités", false, v)
}

// ownUnit returns the unit of the path if p declares for it, or answers
// the error page.
func (s *Server) ownUnit(w http.ResponseWriter, r *http.Request) (projections.UnitView, bool) {
	id := r.PathValue("id")
	var u projections.UnitView
	var ok bool
	s.cfg.Live.View(func(a *projections.Availability) { u, ok = a.Unit(id) })
	if !ok || u.Retired {
		s.errorPage(w, r, http.StatusNotFound, "aucune UO d'identifiant "+id+" au répertoire")
		return u, false
	}
	if err := domain.Authorize(principal(r), domain.ActDeclare, u.FINESS); err != nil {
		s.errorPage(w, r, http.StatusForbidden, domain.ErrorMessage(err))
		return u, false
	}
	return u, true
}

// count reads a figure of the form: a whole number, 0 to MaxCount.
func count(form url.Values, field, what string, errs map[string]string) int {
	v := strings.TrimSpace(form.Get(field))
	if v == "" {
		errs[field] = what + " est obligatoire"
		return 0
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		errs[field] = what + " doit être un nombre entier (par exemple 3), pas « " + truncate(v, 20) + " »"
	case n < 0:
		errs[field] = what + " ne peut pas être négatif"
	case n > domain.MaxCount:
		errs[field] = what + " dépasse " + strconv.Itoa(domain.MaxCount)
	}
	return n
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// declare saves one row: the figures and the comment in one append, if
// the unit is still at the revision the form showed.
func (s *Server) declare(w http.ResponseWriter, r *http.Request) {
	u, ok := s.ownUnit(w, r)
	if !ok {
		return
	}
	form := r.PostForm
	f := formOf(u, s.cfg.Now())
	for _, k := range []string{fieldAvailable, fieldInstalled, fieldClosed, fieldComment} {
		f.Values[k] = form.Get(k)
	}
	cmd := domain.DeclareAvailability{
		Available:    count(form, fieldAvailable, "le nombre de places disponibles", f.Errors),
		Installed:    count(form, fieldInstalled, "le nombre de places installées", f.Errors),
		ClosedPlaces: count(form, fieldClosed, "le nombre de places fermées", f.Errors),
	}
	if strings.TrimSpace(form.Get(fieldClosed)) == "" { // "Lits fermés" left empty: none
		delete(f.Errors, fieldClosed)
		cmd.ClosedPlaces = 0
	}
	rev, err := strconv.ParseInt(form.Get(fieldRevision), 10, 64)
	if err != nil {
		f.Message = "le formulaire est incomplet (révision manquante) : rechargez la page"
	}
	if len(f.Errors) > 0 || f.Message != "" {
		s.renderUpdate(w, r, http.StatusUnprocessableEntity, "", &f)
		return
	}
	// A form without the field (a script's) leaves the comment alone;
	// with it, a changed comment is set, or cleared when emptied.
	if c := strings.TrimSpace(form.Get(fieldComment)); form.Has(fieldComment) && c != u.Comment {
		cmd.Comment = &c
	}
	s.execute(w, r, u, cmd, rev, f.refused(s, w, r))
}

// refused shows a refusal on f's row: next to its field, or for the row.
func (f *rowForm) refused(s *Server, w http.ResponseWriter, r *http.Request) func(status int, field, msg string) {
	return func(status int, field, msg string) {
		if field != "" {
			f.Errors[field] = msg
		} else {
			f.Message = msg
		}
		s.renderUpdate(w, r, status, "", f)
	}
}

// execute runs cmd on u for the person, then shows the page with the row
// saved; a refusal goes to refused, with the form's field it concerns ("":
// the whole row).
func (s *Server) execute(w http.ResponseWriter, r *http.Request, u projections.UnitView, cmd domain.Command, rev int64,
	refused func(status int, field, msg string)) {
	p := principal(r)
	out, err := s.cfg.Ledger.Execute(r.Context(), domain.Request{UnitID: u.ID, Command: cmd, Principal: &p,
		Source: domain.SourceManual, IfMatch: &rev})
	var conflict *domain.ConflictError
	switch {
	case errors.As(err, &conflict):
		// Someone saved this unit since the form was shown: show the
		// figures as they are now, and say so.
		var cur projections.UnitView
		s.cfg.Live.View(func(a *projections.Availability) { cur, _ = a.Unit(u.ID) })
		fresh := formOf(cur, s.cfg.Now())
		fresh.Message = "Cette UO a été modifiée par quelqu'un d'autre depuis l'affichage de la page : voici ses chiffres actuels. Vérifiez-les, puis enregistrez de nouveau."
		s.renderUpdate(w, r, http.StatusConflict, "", &fresh)
		return
	case err != nil:
		code := domain.ErrorCode(err)
		if code == domain.EInternal || code == "" {
			s.log.Error("web command", "unit", u.ID, "err", err)
			s.errorPage(w, r, http.StatusInternalServerError, "")
			return
		}
		status := http.StatusUnprocessableEntity
		if code == domain.EForbidden {
			status = http.StatusForbidden
		}
		refused(status, formFields[domain.ErrorField(err)], domain.ErrorMessage(err))
		return
	}
	// The page after the redirect reads the projections: wait until they
	// show the save, so that it is there.
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.MaxWait)
	defer cancel()
	if pos := out.Result.LastPosition; pos > 0 {
		_ = s.cfg.Live.WaitFor(ctx, pos) // past MaxWait the page shows it a moment later
	}
	http.Redirect(w, r, "/disponibilites/mise-a-jour?enregistre="+url.QueryEscape(u.ID)+"#uo-"+u.ID, http.StatusSeeOther)
}

type closeView struct {
	Line   unitLine
	Values map[string]string
	Errors map[string]string
	Rev    int64
}

// closePage asks what "Fermer l'UO" needs: reason, planned end, réactivable.
func (s *Server) closePage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.ownUnit(w, r)
	if !ok {
		return
	}
	v := closeView{Line: lineOf(u, s.cfg.Now(), asOf{}), Values: map[string]string{fieldReopen: "on"}, Errors: map[string]string{}, Rev: u.Revision}
	s.render(w, r, http.StatusOK, "close", "Fermer l'UO "+u.Name, false, v)
}

// closeUnit puts the unit in indisponibilité totale.
func (s *Server) closeUnit(w http.ResponseWriter, r *http.Request) {
	u, ok := s.ownUnit(w, r)
	if !ok {
		return
	}
	form := r.PostForm
	v := closeView{Line: lineOf(u, s.cfg.Now(), asOf{}), Errors: map[string]string{}, Rev: u.Revision,
		Values: map[string]string{fieldReason: form.Get(fieldReason), fieldEnd: form.Get(fieldEnd), fieldReopen: form.Get(fieldReopen)}}
	cmd := domain.CloseUnit{Reason: strings.TrimSpace(form.Get(fieldReason)), Reopenable: form.Get(fieldReopen) != ""}
	if cmd.Reason == "" {
		v.Errors[fieldReason] = "le motif de l'indisponibilité est obligatoire"
	}
	if end := strings.TrimSpace(form.Get(fieldEnd)); end != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", end, domain.Paris())
		if err != nil {
			t, err = time.ParseInLocation("2006-01-02", end, domain.Paris())
		}
		if err != nil {
			v.Errors[fieldEnd] = "date attendue, par exemple 2025-03-20 ou 2025-03-20T08:00 (heure de Paris)"
		}
		cmd.PlannedEnd = t
	}
	rev, err := strconv.ParseInt(form.Get(fieldRevision), 10, 64)
	if err != nil {
		v.Errors[fieldReason] = "le formulaire est incomplet (révision manquante) : rechargez la page"
	}
	if len(v.Errors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "close", "Fermer l'UO "+u.Name, false, v)
		return
	}
	s.execute(w, r, u, cmd, rev, func(status int, field, msg string) {
		if field == fieldReason || field == fieldEnd {
			v.Errors[field] = msg
			s.render(w, r, status, "close", "Fermer l'UO "+u.Name, false, v)
			return
		}
		f := formOf(u, s.cfg.Now())
		f.Message = msg
		s.renderUpdate(w, r, status, "", &f)
	})
}

// reopenUnit ends a réactivable closure.
func (s *Server) reopenUnit(w http.ResponseWriter, r *http.Request) {
	u, ok := s.ownUnit(w, r)
	if !ok {
		return
	}
	f := formOf(u, s.cfg.Now())
	rev, err := strconv.ParseInt(r.PostForm.Get(fieldRevision), 10, 64)
	if err != nil {
		f.Message = "le formulaire est incomplet (révision manquante) : rechargez la page"
		s.renderUpdate(w, r, http.StatusUnprocessableEntity, "", &f)
		return
	}
	s.execute(w, r, u, domain.ReopenUnit{}, rev, f.refused(s, w, r))
}
