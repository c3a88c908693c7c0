package httpapi

import (
	"time"

	"dispo/domain"
	"dispo/projections"
)

// The API's JSON shapes. Instants are RFC 3339 UTC; *_paris fields are what
// the screens show (Europe/Paris), for clients that print them as is.

type closureBody struct {
	Reason     string     `json:"reason"`
	Start      time.Time  `json:"start"`
	PlannedEnd *time.Time `json:"planned_end"`
	Reopenable bool       `json:"reopenable"`
}

type unitBody struct {
	domain.Unit
	Available      int          `json:"available"`
	Installed      int          `json:"installed"`
	Closed         int          `json:"closed"`
	Comment        string       `json:"comment"`
	LastDeclaredAt *time.Time   `json:"last_declared_at"`
	LastUpdate     string       `json:"last_update_paris"`
	Band           string       `json:"band"`
	Closure        *closureBody `json:"closure"`
	Pool           string       `json:"pool,omitempty"`
	Revision       int64        `json:"revision"`
}

func (u unitBody) etagRevision() int64 { return u.Revision }

func closureJSON(c *domain.Closure) *closureBody {
	if c == nil {
		return nil
	}
	b := &closureBody{Reason: c.Reason, Start: c.Start.UTC(), Reopenable: c.Reopenable}
	if !c.PlannedEnd.IsZero() {
		end := c.PlannedEnd.UTC()
		b.PlannedEnd = &end
	}
	return b
}

func unitJSON(v projections.UnitView, now time.Time) unitBody {
	b := unitBody{Unit: v.Unit, Available: v.Available, Installed: v.Installed, Closed: v.Closed, Comment: v.Comment,
		LastUpdate: projections.FormatParis(v.LastDeclaredAt), Band: bandNames[projections.BandOf(v.LastDeclaredAt, now)],
		Closure: closureJSON(v.Closure), Pool: v.Pool, Revision: v.Revision}
	if !v.LastDeclaredAt.IsZero() {
		t := v.LastDeclaredAt.UTC()
		b.LastDeclaredAt = &t
	}
	return b
}

// stateJSON renders the unit as the ledger has it right after a command
// (the projections may not have caught up yet).
func stateJSON(s *domain.UnitState, now time.Time) unitBody {
	c, closed := s.Closure()
	var cp *domain.Closure
	if closed {
		cp = &c
	}
	d := s.Declared()
	return unitJSON(projections.UnitView{Unit: s.Unit(), Available: s.Available(), Installed: d.Installed, Closed: d.Closed,
		Comment: s.Comment(), LastDeclaredAt: s.LastDeclaredAt(), Closure: cp, Pool: s.Pool(), Revision: s.Revision()}, now)
}

type unitList struct {
	Count int        `json:"count"`
	Units []unitBody `json:"units"`
}

func (unitList) clockDependent() {}

type cellBody struct {
	Available int `json:"available"`
	Installed int `json:"installed"`
	Units     int `json:"units"`
}

type rowBody struct {
	Kind     string              `json:"kind"`
	Code     string              `json:"code"`
	Label    string              `json:"label"`
	Counting string              `json:"counting,omitempty"`
	Cells    map[string]cellBody `json:"cells"`
	Total    cellBody            `json:"total"`
}

type matrixBody struct {
	Departments []string  `json:"departments"`
	Rows        []rowBody `json:"rows"`
	Total       rowBody   `json:"total"`
}

func rowJSON(m projections.Matrix, r projections.MatrixRow) rowBody {
	b := rowBody{Kind: r.Kind.String(), Code: r.Code(), Label: r.Label, Counting: string(r.Counting),
		Cells: make(map[string]cellBody, len(m.Departments)), Total: cellBody(r.Total)}
	for i, d := range m.Departments {
		b.Cells[d] = cellBody(r.Cells[i])
	}
	return b
}

func matrixJSON(m projections.Matrix) matrixBody {
	b := matrixBody{Departments: m.Departments, Rows: make([]rowBody, len(m.Rows)), Total: rowJSON(m, m.Total)}
	for i, r := range m.Rows {
		b.Rows[i] = rowJSON(m, r)
	}
	return b
}

type detailRowBody struct {
	Establishment string     `json:"establishment"`
	UnitName      string     `json:"unit_name"`
	UnitID        string     `json:"unit_id"`
	Available     int        `json:"available"`
	Installed     int        `json:"installed"`
	LastUpdateAt  *time.Time `json:"last_update_at"`
	LastUpdate    string     `json:"last_update_paris"`
	Phone         string     `json:"phone"`
	Closed        bool       `json:"closed"`
	Pooled        bool       `json:"pooled"`
	Comment       string     `json:"comment"`
}

type detailBody struct {
	Department string          `json:"department"`
	Row        string          `json:"row"`
	Rows       []detailRowBody `json:"rows"`
}

func detailJSON(dept, row string, rows []projections.DetailRow) detailBody {
	b := detailBody{Department: dept, Row: row, Rows: make([]detailRowBody, len(rows))}
	for i, r := range rows {
		b.Rows[i] = detailRowBody{Establishment: r.Establishment, UnitName: r.UnitName, UnitID: r.UnitID,
			Available: r.Available, Installed: r.Installed, LastUpdate: projections.FormatParis(r.LastUpdate),
			Phone: r.Phone, Closed: r.Closed, Pooled: r.Pooled, Comment: r.Comment}
		if !r.LastUpdate.IsZero() {
			t := r.LastUpdate.UTC()
			b.Rows[i].LastUpdateAt = &t
		}
	}
	return b
}

type freshnessBody struct {
	At          time.Time                 `json:"at"`
	Bands       []string                  `json:"bands"`
	Departments map[string]map[string]int `json:"departments"`
	Total       map[string]int            `json:"total"`
	Missed      int                       `json:"missed_weekly_obligation"`
}

func (freshnessBody) clockDependent() {}

func bandCounts(c [projections.NumBands]int) map[string]int {
	m := make(map[string]int, len(c))
	for i, n := range c {
		m[bandNames[i]] = n
	}
	return m
}

func freshnessJSON(f projections.FreshnessReport) freshnessBody {
	b := freshnessBody{At: f.Now.UTC(), Bands: bandNames, Departments: map[string]map[string]int{}, Total: bandCounts(f.Total), Missed: len(f.Missed)}
	for _, d := range f.Departments {
		b.Departments[d.Department] = bandCounts(d.Bands)
	}
	return b
}

type missedBody struct {
	At    time.Time  `json:"at"`
	Count int        `json:"count"`
	Units []unitBody `json:"units"`
}

func (missedBody) clockDependent() {}
