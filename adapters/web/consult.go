package web

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"dispo/domain"
	"dispo/projections"
)

// home sends a visitor to the consultation, or to the login page first.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := principalOK(r); ok {
		http.Redirect(w, r, "/disponibilites/consultation", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, LoginPath, http.StatusSeeOther)
}

// errAtFormat is the message of an ?at= that is not an instant.
var errAtFormat = errors.New("date et heure attendues, par exemple 2025-03-06T15:30 (heure de Paris)")

// parseAt reads ?at= as the date-time picker sends it (Paris local time,
// "2025-03-06T15:30") or as RFC 3339; zero when absent.
func parseAt(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("at")
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, domain.Paris()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errAtFormat
}

// snapshot is the read model a consultation page shows: the live one, or
// as of ?at= (then the page says plainly that it shows the past).
type snapshot struct {
	at  time.Time // zero: now
	now time.Time // the instant bands are computed at
	a   *projections.Availability
}

// read runs fn on the projections as the request asks (?at=), or answers
// the error page and returns false.
func (s *Server) read(w http.ResponseWriter, r *http.Request, fn func(sn snapshot)) bool {
	at, err := parseAt(r)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "paramètre at : "+err.Error())
		return false
	}
	if _, display := displayFrom(r); display && !at.IsZero() {
		s.errorPage(w, r, http.StatusBadRequest, "un lien d'affichage montre l'état actuel seulement")
		return false
	}
	if at.IsZero() {
		now := s.cfg.Now()
		s.cfg.Live.View(func(a *projections.Availability) { fn(snapshot{now: now, a: a}) })
		return true
	}
	if s.cfg.Streams == nil {
		s.errorPage(w, r, http.StatusBadRequest, "ce service ne garde pas l'état passé (paramètre at)")
		return false
	}
	if at.After(s.cfg.Now()) {
		s.errorPage(w, r, http.StatusBadRequest, "paramètre at : l'instant demandé est dans le futur")
		return false
	}
	a, err := s.cfg.Live.AsOf(r.Context(), at, s.cfg.Streams)
	if err != nil {
		s.log.Error("as-of read", "at", at, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "")
		return false
	}
	fn(snapshot{at: at, now: at, a: a})
	return true
}

// asOf is the banner of a page that shows the past.
type asOf struct {
	At    time.Time // zero: the page is live
	Query string    // "?at=…" to keep on links, "" when live
}

func (sn snapshot) asOf() asOf {
	if sn.at.IsZero() {
		return asOf{}
	}
	return asOf{At: sn.at, Query: "at=" + url.QueryEscape(sn.at.UTC().Format(time.RFC3339))}
}

// cellView is a matrix cell: available / installed, and whether shared
// places count in it (once).
type cellView struct {
	Available, Installed int
	Pooled               bool
	Href                 string
	Department           string
}

type matrixRowView struct {
	Label, Href string
	Sub         bool // a dialysis modality under the Dialyse row
	Counting    domain.Counting
	Cells       []cellView
	Total       cellView
}

type matrixView struct {
	AsOf        asOf
	Departments []string
	Rows        []matrixRowView
	Total       matrixRowView
}

// consultation is the matrix: the guide's seven categories, Dialyse with
// its five modalities beneath, departments and Total as columns.
func (s *Server) consultation(w http.ResponseWriter, r *http.Request) {
	var v matrixView
	if !s.read(w, r, func(sn snapshot) { v = matrixOf(sn.a.Matrix(), sn.asOf(), consultationBase(r)) }) {
		return
	}
	s.render(w, r, http.StatusOK, "consultation", "Consultation des disponibilités", v.AsOf.At.IsZero(), v)
}

// consultationBase is where a request's consultation pages are: the
// logged-in person's, or a display link's.
func consultationBase(r *http.Request) string {
	if d, ok := displayFrom(r); ok {
		return d.base
	}
	return "/disponibilites/consultation"
}

func matrixOf(m projections.Matrix, ao asOf, base string) matrixView {
	v := matrixView{AsOf: ao, Departments: domain.IleDeFrance}
	cell := func(c projections.Cell, href, dep string) cellView {
		return cellView{Available: c.Available, Installed: c.Installed, Pooled: c.Pools > 0, Href: href, Department: dep}
	}
	withQuery := func(base string, q url.Values) string {
		if ao.Query != "" {
			for k, vs := range mustParseQuery(ao.Query) {
				q[k] = vs
			}
		}
		if len(q) == 0 {
			return base
		}
		return base + "?" + q.Encode()
	}
	rowOf := func(label, category, typ string, sub bool, counting domain.Counting, src *projections.MatrixRow) matrixRowView {
		base := base + "/" + category
		q := url.Values{}
		if typ != "" {
			q.Set("type", typ)
		}
		row := matrixRowView{Label: label, Href: withQuery(base, q), Sub: sub, Counting: counting}
		for _, d := range v.Departments {
			var c projections.Cell
			if src != nil {
				if i := m.Column(d); i >= 0 {
					c = src.Cells[i]
				}
			}
			dq := url.Values{"departement": {d}}
			if typ != "" {
				dq.Set("type", typ)
			}
			row.Cells = append(row.Cells, cell(c, withQuery(base, dq), d))
		}
		if src != nil {
			row.Total = cell(src.Total, row.Href, "")
		} else {
			row.Total = cellView{Href: row.Href}
		}
		return row
	}
	find := func(kind projections.RowKind, code string) *projections.MatrixRow {
		for i := range m.Rows {
			if m.Rows[i].Kind == kind && m.Rows[i].Code() == code {
				return &m.Rows[i]
			}
		}
		return nil
	}
	for _, c := range domain.Categories {
		v.Rows = append(v.Rows, rowOf(c.Label, c.Code, "", false, c.Counting, find(projections.CategoryRow, c.Code)))
		if c.Code != "dialyse" {
			continue // the other categories have one type each: their row is it
		}
		for _, t := range domain.DialysisTypes {
			lt, _ := domain.LookupType(t)
			v.Rows = append(v.Rows, rowOf(lt.Label, c.Code, t, true, c.Counting, find(projections.TypeRow, t)))
		}
	}
	v.Total = rowOf("Total", "", "", false, "", &m.Total)
	v.Total.Href = ""
	for i := range v.Total.Cells {
		v.Total.Cells[i].Href = ""
	}
	v.Total.Total.Href = ""
	return v
}

func mustParseQuery(q string) url.Values {
	v, _ := url.ParseQuery(q)
	return v
}

// unitLine is a unit as a detail table lists it.
type unitLine struct {
	projections.UnitView
	Band bandView
	Now  time.Time
	Link string
}

func lineOf(u projections.UnitView, now time.Time, ao asOf) unitLine {
	l := unitLine{UnitView: u, Band: bandOf(u.LastDeclaredAt, now), Now: now, Link: "/uo/" + url.PathEscape(u.ID)}
	if ao.Query != "" {
		l.Link += "?" + ao.Query
	}
	return l
}

type departmentBlock struct {
	Department string
	Lines      []unitLine
}

type filterOption struct {
	Code, Label string
	Selected    bool
}

type detailView struct {
	AsOf                   asOf
	Category               domain.Category
	TypeLabel              string
	Places                 bool // dialysis counts places; the others beds
	Blocks                 []departmentBlock
	Types                  []filterOption
	Departments            []filterOption
	OnlyAvailable          bool
	Path                   string
	SelectedType, Selected string
}

// The parameters the detail and the search read (the cache's key).
var (
	detailParams = []string{"departement", "type", "disponibles"}
	searchParams = []string{"q", "tri"}
)

// detail is "Détail des disponibilités par département" for a category,
// optionally one department (?departement=) and one type (?type=), and
// only the units with places available (?disponibles=1).
func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	cat, ok := domain.LookupCategory(r.PathValue("categorie"))
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "catégorie inconnue : choisissez une ligne de la consultation")
		return
	}
	q := r.URL.Query()
	v := detailView{Category: cat, Places: cat.Counting == domain.Places, Path: r.URL.Path,
		OnlyAvailable: q.Get("disponibles") != "", SelectedType: q.Get("type"), Selected: q.Get("departement")}
	row := cat.Code
	if typ := v.SelectedType; typ != "" {
		t, ok := domain.LookupType(typ)
		if !ok || t.Category != cat.Code {
			s.errorPage(w, r, http.StatusBadRequest, "type d'unité inconnu pour cette catégorie : "+typ)
			return
		}
		row, v.TypeLabel = typ, t.Label
	}
	deps := domain.IleDeFrance
	if d := v.Selected; d != "" {
		if !slices.Contains(domain.IleDeFrance, d) {
			s.errorPage(w, r, http.StatusBadRequest, "département inconnu : "+d+" (départements d'Île-de-France : "+strings.Join(domain.IleDeFrance, ", ")+")")
			return
		}
		deps = []string{d}
	}
	for _, t := range domain.UnitTypes {
		if t.Category == cat.Code {
			v.Types = append(v.Types, filterOption{Code: t.Code, Label: t.Label, Selected: t.Code == v.SelectedType})
		}
	}
	for _, d := range domain.IleDeFrance {
		v.Departments = append(v.Departments, filterOption{Code: d, Label: d, Selected: d == v.Selected})
	}
	var failed error
	ok = s.read(w, r, func(sn snapshot) {
		v.AsOf = sn.asOf()
		for _, d := range deps {
			units, err := sn.a.Detail(row, d)
			if err != nil {
				failed = err
				return
			}
			b := departmentBlock{Department: d}
			for _, u := range units {
				if v.OnlyAvailable && u.Available == 0 {
					continue
				}
				l := lineOf(u, sn.now, v.AsOf)
				if _, display := displayFrom(r); display {
					l.Link = "" // a display opens nothing but the consultation
				}
				b.Lines = append(b.Lines, l)
			}
			expires(r, b.Lines, sn.now)
			v.Blocks = append(v.Blocks, b)
		}
	})
	if !ok {
		return
	}
	if failed != nil {
		s.errorPage(w, r, http.StatusBadRequest, domain.ErrorMessage(failed))
		return
	}
	title := "Détail des disponibilités par département — " + cat.Label
	if v.TypeLabel != "" {
		title += " — " + v.TypeLabel
	}
	s.render(w, r, http.StatusOK, "detail", title, v.AsOf.At.IsZero(), v)
}

type establishment struct {
	FINESS, Name, Department string
	Units                    int
	Href                     string
}

type structuresView struct {
	AsOf           asOf
	Establishments []establishment
}

// structures lists the establishments, to choose one's detail from.
func (s *Server) structures(w http.ResponseWriter, r *http.Request) {
	var v structuresView
	if !s.read(w, r, func(sn snapshot) {
		v.AsOf = sn.asOf()
		byFINESS := map[string]int{}
		for _, u := range sn.a.Units() {
			i, ok := byFINESS[u.FINESS]
			if !ok {
				i = len(v.Establishments)
				byFINESS[u.FINESS] = i
				href := "/disponibilites/structures/" + url.PathEscape(u.FINESS)
				if v.AsOf.Query != "" {
					href += "?" + v.AsOf.Query
				}
				v.Establishments = append(v.Establishments, establishment{FINESS: u.FINESS, Name: u.Establishment, Department: u.Department, Href: href})
			}
			v.Establishments[i].Units++
		}
	}) {
		return
	}
	slices.SortFunc(v.Establishments, func(a, b establishment) int {
		return cmp.Or(cmp.Compare(a.Department, b.Department), cmp.Compare(a.Name, b.Name), cmp.Compare(a.FINESS, b.FINESS))
	})
	s.render(w, r, http.StatusOK, "structures", "Structures", v.AsOf.At.IsZero(), v)
}

type structureView struct {
	AsOf                     asOf
	FINESS, Name, Department string
	Lines                    []unitLine
}

// structure is "Détail des disponibilités par structure": one
// establishment's units.
func (s *Server) structure(w http.ResponseWriter, r *http.Request) {
	v := structureView{FINESS: r.PathValue("finess")}
	if !s.read(w, r, func(sn snapshot) {
		v.AsOf = sn.asOf()
		for _, u := range sn.a.Units() {
			if u.FINESS == v.FINESS {
				v.Name, v.Department = u.Establishment, u.Department
				v.Lines = append(v.Lines, lineOf(u, sn.now, v.AsOf))
			}
		}
		expires(r, v.Lines, sn.now)
	}) {
		return
	}
	if len(v.Lines) == 0 {
		s.errorPage(w, r, http.StatusNotFound, "aucun établissement de FINESS "+v.FINESS+" n'a d'UO au répertoire")
		return
	}
	s.render(w, r, http.StatusOK, "structure", "Détail des disponibilités par structure — "+v.Name, v.AsOf.At.IsZero(), v)
}

type searchView struct {
	Heading string
	Path    string // /recherche or /historique
	Query   string
	Sort    string // "disponibles" (default) or "fraicheur"
	Lines   []unitLine
	Total   int
	Limited bool
}

// maxSearchLines bounds a result page.
const maxSearchLines = 200

// search finds units by name, establishment or commune, places available
// first (or the freshest first).
func (s *Server) search(w http.ResponseWriter, r *http.Request) { s.searchPage(w, r, false) }

// history is the auditors' way in (see onlyFor): the search, each unit
// leading to its history.
func (s *Server) history(w http.ResponseWriter, r *http.Request) { s.searchPage(w, r, true) }

// onlyFor serves h to the roles given, and the refusal to others. It goes
// in front of the cache: a page kept for one person is shown to another
// only past the same check.
func (s *Server) onlyFor(refusal string, roles []domain.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(roles, principal(r).Role) {
			s.errorPage(w, r, http.StatusForbidden, refusal)
			return
		}
		h(w, r)
	}
}

func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, history bool) {
	q := r.URL.Query()
	v := searchView{Heading: "Recherche", Path: "/recherche", Query: strings.TrimSpace(q.Get("q")), Sort: q.Get("tri")}
	if history {
		v.Heading, v.Path = "Historique des UO", "/historique"
	}
	if v.Sort != "fraicheur" {
		v.Sort = "disponibles"
	}
	needle := fold(v.Query)
	if !s.read(w, r, func(sn snapshot) {
		for _, u := range sn.a.Units() {
			if needle != "" && !strings.Contains(fold(u.Name+" "+u.Establishment+" "+u.Commune), needle) {
				continue
			}
			l := lineOf(u, sn.now, asOf{})
			if history {
				l.Link += "#historique"
			}
			v.Lines = append(v.Lines, l)
		}
		expires(r, v.Lines, sn.now)
	}) {
		return
	}
	freshest := func(a, b unitLine) int { return b.LastDeclaredAt.Compare(a.LastDeclaredAt) }
	if v.Sort == "fraicheur" {
		slices.SortStableFunc(v.Lines, freshest)
	} else {
		slices.SortStableFunc(v.Lines, func(a, b unitLine) int { return cmp.Or(cmp.Compare(b.Available, a.Available), freshest(a, b)) })
	}
	v.Total = len(v.Lines)
	if len(v.Lines) > maxSearchLines {
		v.Lines, v.Limited = v.Lines[:maxSearchLines], true
	}
	s.render(w, r, http.StatusOK, "search", v.Heading, true, v)
}

// fold lowers s and drops the accents of French letters, so that "melun"
// finds "Melun" and "evry" finds "Évry".
func fold(s string) string {
	return strings.Map(func(c rune) rune {
		if p, ok := unaccented[c]; ok {
			return p
		}
		return c
	}, strings.ToLower(s))
}

var unaccented = func() map[rune]rune {
	from, to := []rune("àâäáãçéèêëíìîïñóòôöõúùûüýÿ"), []rune("aaaaaceeeeiiiinooooouuuuyy")
	m := make(map[rune]rune, len(from))
	for i, c := range from {
		m[c] = to[i]
	}
	return m
}()
