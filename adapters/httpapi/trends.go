package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"dispo/domain"
	"dispo/projections"
)

// trendsWeekly answers GET /api/v1/trends/weekly: the agency's weekly
// capacity trends (analysts and admins), as JSON or, with format=csv or
// Accept: text/csv, as a CSV file for French spreadsheets (see
// WriteTrendsCSV).
//
// Parameters: from, to (a date 2025-10-06 or an ISO week 2025-W41),
// department, type, format (json or csv), min_position. A bad value is a
// 400; so are anything else and a parameter given twice (see routes.go).
//
// The open week is computed up to the server's clock, so the answer is not
// a function of the log position alone: it carries no validator and is not
// to be stored.
func (s *Server) trendsWeekly(w http.ResponseWriter, r *http.Request) {
	_, ok := s.allowed(w, r, domain.ActTrends)
	if !ok {
		return
	}
	q := r.URL.Query() // the parameters were checked: see routes.go
	csv := false
	switch q.Get("format") {
	case "csv":
		csv = true
	case "json":
	case "":
		csv = prefersCSV(r.Header.Get("Accept"))
	default:
		s.fieldProblem(w, r, domain.EInvalid, "format", "format doit valoir json ou csv")
		return
	}
	if !s.waitMinPosition(w, r) {
		return
	}

	tq := projections.TrendQuery{From: q.Get("from"), To: q.Get("to"), Department: q.Get("department"),
		Type: q.Get("type"), Now: s.cfg.Now()}
	var rep projections.TrendReport
	var err error
	s.cfg.Live.ViewTrends(func(t *projections.Trends) { rep, err = t.Weekly(tq) })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body bytes.Buffer
	if csv {
		err = WriteTrendsCSV(&body, rep)
	} else {
		err = json.NewEncoder(&body).Encode(rep)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("X-Dispo-Position", strconv.FormatUint(rep.Position, 10))
	if csv {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+trendsFilename(rep)+`"`)
	} else {
		h.Set("Content-Type", "application/json")
	}
	w.Write(body.Bytes())
}

// trendsFilename names the CSV file after what it holds:
// dispo-tendances-2025-W41-2026-W02-77-udm.csv. Only ASCII letters, digits
// and dashes: the parameters were validated.
func trendsFilename(rep projections.TrendReport) string {
	name := "dispo-tendances-" + rep.From + "-" + rep.To
	for _, f := range []string{rep.Department, rep.Type} {
		if f != "" {
			name += "-" + strings.ReplaceAll(f, "_", "-")
		}
	}
	return name + ".csv"
}

// prefersCSV reports whether an Accept header ranks text/csv above
// application/json (ties go to the one listed first); JSON is the default.
func prefersCSV(accept string) bool {
	csvQ, jsonQ := -1.0, -1.0
	csvAt, jsonAt := 0, 0
	for i, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		media := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && x >= 0 && x <= 1 {
					q = x
				}
			}
		}
		switch {
		case media == "text/csv" && q > csvQ:
			csvQ, csvAt = q, i
		case media == "application/json" && q > jsonQ:
			jsonQ, jsonAt = q, i
		}
	}
	return csvQ > 0 && (csvQ > jsonQ || csvQ == jsonQ && csvAt < jsonAt)
}
