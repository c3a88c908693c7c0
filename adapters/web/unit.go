package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"dispo/adapters/httpauth"
	"dispo/domain"
	"dispo/projections"
)

// principalOK is the person logged in, if any.
func principalOK(r *http.Request) (domain.Principal, bool) {
	return httpauth.PrincipalFrom(r.Context())
}

// historyLine is one event of a unit's history as an auditor reads it.
type historyLine struct {
	At      time.Time
	What    string
	Who     string
	Source  string
	Values  string
	After   string
	Summary string
}

type unitPageView struct {
	Line       unitLine
	AsOf       asOf
	AtInput    string // the picker's value
	History    []historyLine
	HasHistory bool // the person may read it and the service keeps it
	Declares   bool // the person may declare for this unit
	Path       string
}

// unitPage is a unit, its current figures and, for those who may read it,
// its history, with an "état au …" picker showing any past instant.
func (s *Server) unitPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := principal(r)
	at, err := parseAt(r)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "paramètre at : "+err.Error())
		return
	}
	if at.After(s.cfg.Now()) {
		s.errorPage(w, r, http.StatusBadRequest, "paramètre at : l'instant demandé est dans le futur")
		return
	}
	var v unitPageView
	var found bool
	s.cfg.Live.View(func(a *projections.Availability) { v.Line.UnitView, found = a.Unit(id) })
	if !found {
		s.errorPage(w, r, http.StatusNotFound, "aucune UO d'identifiant "+id+" au répertoire")
		return
	}
	now := s.cfg.Now()
	v.Path = r.URL.Path
	v.HasHistory = s.cfg.Streams != nil && domain.Authorize(p, domain.ActHistory, v.Line.FINESS) == nil
	v.Declares = domain.Authorize(p, domain.ActDeclare, v.Line.FINESS) == nil
	current := v.Line.UnitView
	if !at.IsZero() || v.HasHistory {
		if s.cfg.Streams == nil {
			s.errorPage(w, r, http.StatusBadRequest, "ce service ne garde pas l'état passé (paramètre at)")
			return
		}
		evs, err := s.cfg.Streams.ReadStreamForward(r.Context(), domain.UnitStream(id), 0, 0)
		if err != nil {
			s.log.Error("reading a unit's stream", "unit", id, "err", err)
			s.errorPage(w, r, http.StatusInternalServerError, "")
			return
		}
		entries := projections.UnitHistory(evs, at)
		if !at.IsZero() {
			if len(entries) == 0 || !entries[len(entries)-1].Registered {
				s.errorPage(w, r, http.StatusNotFound, "cette UO n'était pas encore au répertoire le "+domain.FormatParis(at))
				return
			}
			past := entries[len(entries)-1].View
			if current.Pool != nil && past.Pool != nil {
				past.Pool = nil // the pool's figure then is the whole log's: show the unit's own
			}
			v.Line.UnitView = past
			now = at
			v.AsOf = asOf{At: at}
			v.AtInput = at.In(domain.Paris()).Format("2006-01-02T15:04")
		}
		if v.HasHistory {
			for i := len(entries) - 1; i >= 0; i-- { // the latest first
				v.History = append(v.History, historyOf(entries[i]))
			}
		}
	}
	v.Line = lineOf(v.Line.UnitView, now, asOf{})
	v.Line.Link = ""
	s.render(w, r, http.StatusOK, "unit", v.Line.Name+" — "+v.Line.Establishment, at.IsZero(), v)
}

// eventLabels say in French what each event is.
var eventLabels = map[string]string{
	domain.TypeUnitRegistered:        "UO inscrite au répertoire",
	domain.TypeUnitDetailsChanged:    "Fiche de l'UO modifiée",
	domain.TypeAvailabilityDeclared:  "Disponibilités déclarées",
	domain.TypeCommentSet:            "Commentaire saisi",
	domain.TypeCommentCleared:        "Commentaire effacé",
	domain.TypeUnitClosed:            "UO fermée (indisponibilité totale)",
	domain.TypeUnitReopened:          "UO rouverte",
	domain.TypeUnitPooled:            "Lits mutualisés avec d'autres UO",
	domain.TypeUnitUnpooled:          "Fin de la mutualisation",
	domain.TypeUnitRetired:           "UO retirée du répertoire",
	domain.TypeClosureCancelled:      "Fermeture annulée",
	domain.TypeAvailabilityCorrected: "Déclaration corrigée",
}

var sourceLabels = map[domain.Source]string{
	domain.SourceManual: "saisie manuelle",
	domain.SourceAPI:    "API",
	domain.SourceImport: "import",
}

// programLabels name what a program's declarations come from (the
// national typeSourceCapacite).
var programLabels = map[string]string{
	domain.CapacitySourceBedManagement: "gestion des lits (02)",
	domain.CapacitySourceGAM:           "gestion administrative des malades (03)",
	domain.CapacitySourceDPI:           "dossier patient informatisé (04)",
}

func historyOf(h projections.HistoryEntry) historyLine {
	e := h.Event
	l := historyLine{At: e.RecordedAt, What: eventLabels[e.Event.EventType()], Source: sourceLabels[e.Source]}
	if l.What == "" {
		l.What = e.Event.EventType()
	}
	l.Who = e.Actor.UserID
	if r, ok := roleLabels[e.Actor.Role]; ok {
		l.Who += " (" + r + ")"
	}
	switch ev := e.Event.(type) {
	case domain.AvailabilityDeclared:
		l.Values = figures(ev.Available, ev.Installed, ev.ClosedPlaces)
		if p, ok := programLabels[ev.CapacitySource]; ok {
			l.Source += " — logiciel : " + p
		}
	case domain.AvailabilityCorrected:
		l.Values = figures(ev.Available, ev.Installed, ev.ClosedPlaces) + " — motif : " + ev.Reason
	case domain.CommentSet:
		l.Values = "« " + ev.Text + " »"
	case domain.UnitClosed:
		l.Values = "motif : " + ev.Reason
		if !ev.PlannedEnd.IsZero() {
			l.Values += ", fin prévue " + domain.FormatParis(ev.PlannedEnd)
		}
		if !ev.Reopenable {
			l.Values += ", non réactivable"
		}
	case domain.UnitRegistered:
		l.Values = ev.Name + ", " + ev.Establishment + " (" + ev.FINESS + "), département " + ev.Department
	}
	v := h.View
	after := []string{figures(v.Available, v.Installed, v.ClosedPlaces)}
	if v.IsUnitClosed() {
		after = append(after, "fermée")
	}
	if v.Comment != "" {
		after = append(after, "commentaire « "+v.Comment+" »")
	}
	if v.Retired {
		after = append(after, "retirée")
	}
	l.After = strings.Join(after, ", ")
	return l
}

// figures writes a declaration as the history shows it.
func figures(available, installed, closed int) string {
	s := strconv.Itoa(available) + " disponible(s) / " + strconv.Itoa(installed) + " installée(s)"
	if closed > 0 {
		s += ", " + strconv.Itoa(closed) + " fermée(s)"
	}
	return s
}
