package web

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"dispo/domain"
	"dispo/projections"
)

// trendLine is a week of the group the analyst chose.
type trendLine struct {
	Week                         string
	Open                         bool
	Available, Installed         string // means, French decimals
	Declarations, Declared, Due  int
	Compliance                   string // "87,5 %", "—" when no unit was due
	Missed                       int
	x, available, installed, pct float64
	hasPct                       bool
}

// missedGroup is an establishment's units that missed a week's obligation.
type missedGroup struct {
	FINESS, Establishment string
	Units                 []projections.MissedUnit
}

type trendsView struct {
	From, To, Department, Type string
	Departments, Types         []filterOption
	Scope                      string // the group shown, in French
	Lines                      []trendLine
	Chart                      template.HTML
	MissedWeek                 string
	Missed                     []missedGroup
	CSV, MissedCSV             string
	Error                      string
}

// trendsQuery reads the page's filters; the same names as the API's.
func trendsQuery(r *http.Request) projections.TrendQuery {
	q := r.URL.Query()
	return projections.TrendQuery{From: q.Get("from"), To: q.Get("to"), Department: q.Get("department"), Type: q.Get("type")}
}

// trends is the agency's page: weekly capacity and compliance by
// department and type, as a chart drawn here, a table and CSV files.
func (s *Server) trends(w http.ResponseWriter, r *http.Request) {
	if err := domain.Authorize(principal(r), domain.ActTrends, ""); err != nil {
		s.errorPage(w, r, http.StatusForbidden, domain.ErrorMessage(err))
		return
	}
	tq := trendsQuery(r)
	tq.Now = s.cfg.Now()
	v := trendsView{From: tq.From, To: tq.To, Department: tq.Department, Type: tq.Type}
	for _, d := range domain.IleDeFrance {
		v.Departments = append(v.Departments, filterOption{Code: d, Label: d, Selected: d == tq.Department})
	}
	for _, t := range domain.UnitTypes {
		v.Types = append(v.Types, filterOption{Code: t.Code, Label: t.Label, Selected: t.Code == tq.Type})
	}
	var rep projections.TrendReport
	var err error
	s.cfg.Live.ViewTrends(func(t *projections.Trends) { rep, err = t.Weekly(tq) })
	status := http.StatusOK
	if err != nil {
		v.Error, status = domain.ErrorMessage(err), http.StatusBadRequest
		s.render(w, r, status, "trends", "Tendances hebdomadaires", false, v)
		return
	}
	params := url.Values{}
	for k, val := range map[string]string{"from": rep.From, "to": rep.To, "department": tq.Department, "type": tq.Type} {
		if val != "" {
			params.Set(k, val)
		}
	}
	v.CSV = "/api/v1/trends/weekly?format=csv&" + params.Encode()
	v.MissedCSV = "/tendances/manquements.csv?" + params.Encode()
	v.Scope = scopeName(tq.Department, tq.Type)
	for i, wk := range rep.Weeks {
		if len(wk.Rows) == 0 {
			continue
		}
		row := wk.Rows[0] // the filtered group, or the region
		l := trendLine{Week: wk.Week, Open: wk.Open, Available: frenchDecimal(row.MeanAvailable), Installed: frenchDecimal(row.MeanInstalled),
			Declarations: row.Declarations, Declared: row.UnitsDeclared, Due: row.UnitsExpected, Missed: row.Missed, Compliance: "—",
			x: float64(i), available: row.MeanAvailable, installed: row.MeanInstalled}
		if row.Compliance != nil {
			l.Compliance, l.pct, l.hasPct = frenchDecimal(100**row.Compliance)+" %", 100**row.Compliance, true
		}
		v.Lines = append(v.Lines, l)
	}
	v.Chart = chart(v.Lines)
	// The units that missed the last week that ended, by establishment.
	for i := len(rep.Weeks) - 1; i >= 0; i-- {
		if wk := rep.Weeks[i]; !wk.Open {
			v.MissedWeek, v.Missed = wk.Week, byEstablishment(wk.Missed)
			break
		}
	}
	s.render(w, r, status, "trends", "Tendances hebdomadaires", false, v)
}

func scopeName(dept, typ string) string {
	switch {
	case dept == "" && typ == "":
		return "Île-de-France, toutes unités"
	case typ == "":
		return "Département " + dept + ", toutes unités"
	}
	label := typ
	if t, ok := domain.LookupType(typ); ok {
		label = t.Label
	}
	if dept == "" {
		return "Île-de-France, " + label
	}
	return "Département " + dept + ", " + label
}

func byEstablishment(missed []projections.MissedUnit) []missedGroup {
	var out []missedGroup
	for _, m := range missed {
		i := slices.IndexFunc(out, func(g missedGroup) bool { return g.FINESS == m.FINESS })
		if i < 0 {
			out = append(out, missedGroup{FINESS: m.FINESS, Establishment: m.Establishment})
			i = len(out) - 1
		}
		out[i].Units = append(out[i].Units, m)
	}
	slices.SortFunc(out, func(a, b missedGroup) int {
		return cmp.Or(cmp.Compare(a.Establishment, b.Establishment), cmp.Compare(a.FINESS, b.FINESS))
	})
	return out
}

// missedCSV lists, week by week, the units that missed the obligation, by
// establishment: for French spreadsheets (semicolons, UTF-8 with BOM).
func (s *Server) missedCSV(w http.ResponseWriter, r *http.Request) {
	if err := domain.Authorize(principal(r), domain.ActTrends, ""); err != nil {
		s.errorPage(w, r, http.StatusForbidden, domain.ErrorMessage(err))
		return
	}
	tq := trendsQuery(r)
	tq.Now = s.cfg.Now()
	var rep projections.TrendReport
	var err error
	s.cfg.Live.ViewTrends(func(t *projections.Trends) { rep, err = t.Weekly(tq) })
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, domain.ErrorMessage(err))
		return
	}
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := csv.NewWriter(&buf)
	cw.Comma, cw.UseCRLF = ';', true
	cw.Write([]string{"Semaine", "Semaine en cours", "FINESS", "Etablissement", "Département", "UO", "Nom de l'UO", "Type"})
	for _, wk := range rep.Weeks {
		open := "non"
		if wk.Open {
			open = "oui"
		}
		for _, g := range byEstablishment(wk.Missed) {
			for _, m := range g.Units {
				cw.Write([]string{wk.Week, open, m.FINESS, m.Establishment, m.Department, m.UnitID, m.Name, typeName(m.Type)})
			}
		}
	}
	cw.Flush()
	w.Header().Set("Content-Disposition", `attachment; filename="dispo-manquements-`+rep.From+`-`+rep.To+`.csv"`)
	send(w, r, http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

func typeName(code string) string {
	if t, ok := domain.LookupType(code); ok {
		return t.Label
	}
	return code
}

// frenchDecimal writes x with one decimal and a decimal comma.
func frenchDecimal(x float64) string {
	return strings.Replace(strconv.FormatFloat(x, 'f', 1, 64), ".", ",", 1)
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH            = 720.0, 260.0
	padLeft, padRight, padTop = 48.0, 48.0, 16.0
	padBottom                 = 40.0
)

// chart draws the weeks: places available and installed (means, left
// scale) as lines, compliance (right scale, 0-100 %) as bars. The table
// beside it holds the same figures for who does not see it.
func chart(lines []trendLine) template.HTML {
	if len(lines) == 0 {
		return ""
	}
	top := 1.0
	for _, l := range lines {
		top = max(top, l.installed, l.available)
	}
	top = niceCeil(top)
	plotW, plotH := chartW-padLeft-padRight, chartH-padTop-padBottom
	step := plotW / float64(len(lines))
	xOf := func(i int) float64 { return padLeft + step*(float64(i)+0.5) }
	yOf := func(v float64) float64 { return padTop + plotH*(1-v/top) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="graphique" viewBox="0 0 %g %g" role="img" aria-labelledby="graphique-titre graphique-desc" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	b.WriteString(`<title id="graphique-titre">Places disponibles et installées (moyennes de la semaine) et taux de conformité hebdomadaire</title>`)
	fmt.Fprintf(&b, `<desc id="graphique-desc">%d semaines, de %s à %s ; les chiffres sont dans le tableau qui suit.</desc>`,
		len(lines), template.HTMLEscapeString(lines[0].Week), template.HTMLEscapeString(lines[len(lines)-1].Week))
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} { // grid and both scales
		y := padTop + plotH*(1-f)
		fmt.Fprintf(&b, `<line class="grille" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, padLeft, y, chartW-padRight, y)
		fmt.Fprintf(&b, `<text class="echelle" x="%g" y="%.1f" text-anchor="end">%s</text>`, padLeft-6, y+4, frenchNumber(top*f))
		fmt.Fprintf(&b, `<text class="echelle" x="%g" y="%.1f">%d %%</text>`, chartW-padRight+6, y+4, int(100*f))
	}
	barW := step * 0.5
	for i, l := range lines {
		if l.hasPct {
			h := plotH * l.pct / 100
			fmt.Fprintf(&b, `<rect class="conformite" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, xOf(i)-barW/2, padTop+plotH-h, barW, h)
		}
		if len(lines) <= 16 || i%((len(lines)+11)/12) == 0 {
			fmt.Fprintf(&b, `<text class="echelle" x="%.1f" y="%g" text-anchor="middle">%s</text>`, xOf(i), chartH-padBottom+16,
				template.HTMLEscapeString(strings.Replace(l.Week, "-W", " S", 1)))
		}
	}
	for _, series := range []struct {
		class string
		of    func(trendLine) float64
	}{{"installees", func(l trendLine) float64 { return l.installed }}, {"disponibles", func(l trendLine) float64 { return l.available }}} {
		b.WriteString(`<polyline class="` + series.class + `" points="`)
		for i, l := range lines {
			fmt.Fprintf(&b, "%.1f,%.1f ", xOf(i), yOf(series.of(l)))
		}
		b.WriteString(`"/>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built here from numbers and escaped week names
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func frenchNumber(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return frenchDecimal(v)
}
