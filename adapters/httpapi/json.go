package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"dispo/domain"
	"dispo/projections"
)

// The API's JSON shapes. Instants are RFC 3339 UTC; *_paris fields are what
// the screens show (Europe/Paris), for clients that print them as is.
// "closed_places" is a count of places out of use; "unit_closed" and
// "closure" are the unit's indisponibilité totale: two names for two things.

type closureBody struct {
	Reason          string     `json:"reason"`
	Start           time.Time  `json:"start"`
	StartParis      string     `json:"start_paris"`
	PlannedEnd      *time.Time `json:"planned_end"`
	PlannedEndParis string     `json:"planned_end_paris,omitempty"`
	Reopenable      bool       `json:"reopenable"`
}

// poolBody says that "available" is the pool's count, shared with members.
type poolBody struct {
	ID        string   `json:"id"`
	Members   []string `json:"members,omitempty"` // omitted in histories, which fold one stream
	Available *int     `json:"available,omitempty"`
	Installed *int     `json:"installed,omitempty"`
}

// unitBody is the one JSON rendering of a projections.UnitView: units,
// detail rows, command answers and histories all use it.
type unitBody struct {
	domain.Unit
	TypeLabel           string       `json:"type_label"`
	Available           int          `json:"available"`
	Installed           int          `json:"installed"`
	ClosedPlaces        int          `json:"closed_places"`
	DeclarationID       string       `json:"declaration_id,omitempty"`
	LastDeclaredAt      *time.Time   `json:"last_declared_at"`
	LastUpdate          string       `json:"last_update_paris"`
	Band                string       `json:"band"`
	Overdue             bool         `json:"overdue"`
	AwaitingDeclaration bool         `json:"awaiting_declaration"`
	Comment             string       `json:"comment"`
	CommentAt           *time.Time   `json:"comment_at"`
	CommentParis        string       `json:"comment_at_paris,omitempty"`
	UnitClosed          bool         `json:"unit_closed"`
	Closure             *closureBody `json:"closure"`
	Pool                *poolBody    `json:"pool"`
	Retired             bool         `json:"retired"`
	Revision            int64        `json:"revision"`
}

func utcPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func closureJSON(c *domain.Closure) *closureBody {
	if c == nil {
		return nil
	}
	b := &closureBody{Reason: c.Reason, Start: c.Start.UTC(), StartParis: projections.FormatParis(c.Start),
		PlannedEnd: utcPtr(c.PlannedEnd), Reopenable: c.Reopenable}
	if !c.PlannedEnd.IsZero() {
		b.PlannedEndParis = projections.FormatParis(c.PlannedEnd)
	}
	return b
}

// unitJSON renders v as seen at now (its band, whether it is overdue).
func unitJSON(v projections.UnitView, now time.Time) unitBody {
	b := unitBody{Unit: v.Unit, Available: v.Available, Installed: v.Installed, ClosedPlaces: v.ClosedPlaces,
		DeclarationID: v.DeclarationID, LastDeclaredAt: utcPtr(v.LastDeclaredAt),
		LastUpdate: projections.FormatParis(v.LastDeclaredAt), Band: bandNames[projections.BandOf(v.LastDeclaredAt, now)],
		Overdue:             !v.IsUnitClosed() && !v.Retired && projections.Overdue(v.LastDeclaredAt, now),
		AwaitingDeclaration: v.AwaitingDeclaration, Comment: v.Comment, CommentAt: utcPtr(v.CommentAt),
		UnitClosed: v.IsUnitClosed(), Closure: closureJSON(v.Closure), Retired: v.Retired, Revision: v.Revision}
	if t, ok := domain.LookupType(v.Type); ok {
		b.TypeLabel = t.Label
	}
	if !v.CommentAt.IsZero() {
		b.CommentParis = projections.FormatParis(v.CommentAt)
	}
	if p := v.Pool; p != nil {
		b.Pool = &poolBody{ID: p.ID, Members: p.Members}
		if p.Members != nil {
			avail, inst := p.Available, p.Installed
			b.Pool.Available, b.Pool.Installed = &avail, &inst
		}
	}
	return b
}

// viewTag is the ETag of a rendered unit: its own revision (what If-Match
// compares), then a digest of everything the answer shows — the pool's
// figures and the band included — so a pool-mate's declaration or the
// clock moving the band changes it while the revision stays.
func viewTag(b unitBody) string {
	js, _ := json.Marshal(b) // a unitBody always encodes
	sum := sha256.Sum256(js)
	return `"` + strconv.FormatInt(b.Revision, 10) + "." + hex.EncodeToString(sum[:viewDigestLen]) + `"`
}

// viewDigestLen is how many bytes of the digest a tag carries: enough that
// two views of one revision never share one.
const viewDigestLen = 9

type unitList struct {
	Count int        `json:"count"`
	Units []unitBody `json:"units"`
}

func (unitList) clockDependent() {}

type cellBody struct {
	Available int `json:"available"`
	Installed int `json:"installed"`
	Units     int `json:"units"`
	Pools     int `json:"pools"` // pools whose shared places "available" counts, once each
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

// detailBody is "Détail des disponibilités par département": each row is
// the unit as GET /units/{id} renders it.
type detailBody struct {
	Department string     `json:"department"`
	Row        string     `json:"row"`
	Rows       []unitBody `json:"rows"`
}

// validUntil: the rows' bands and overdue flags hold until the first of
// them changes.
func (b detailBody) validUntil(now time.Time) time.Time {
	var until time.Time
	for _, r := range b.Rows {
		if r.LastDeclaredAt == nil {
			continue
		}
		if t := projections.NextChange(*r.LastDeclaredAt, now); !t.IsZero() && (until.IsZero() || t.Before(until)) {
			until = t
		}
	}
	return until
}

func detailJSON(dept, row string, rows []projections.UnitView, now time.Time) detailBody {
	b := detailBody{Department: dept, Row: row, Rows: make([]unitBody, len(rows))}
	for i, r := range rows {
		b.Rows[i] = unitJSON(r, now)
	}
	return b
}

type freshnessBody struct {
	At          time.Time                 `json:"at"`
	Bands       []string                  `json:"bands"`
	Departments map[string]map[string]int `json:"departments"`
	Total       map[string]int            `json:"total"`
	Overdue     int                       `json:"overdue"`
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
	b := freshnessBody{At: f.Now.UTC(), Bands: bandNames, Departments: map[string]map[string]int{}, Total: bandCounts(f.Total), Overdue: len(f.Overdue)}
	for _, d := range f.Departments {
		b.Departments[d.Department] = bandCounts(d.Bands)
	}
	return b
}

type overdueBody struct {
	At    time.Time  `json:"at"`
	Count int        `json:"count"`
	Units []unitBody `json:"units"`
}

func (overdueBody) clockDependent() {}
