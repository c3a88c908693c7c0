package projections

import "time"

// Band is a freshness band of the colour legend: how long ago a unit last
// declared its availability.
type Band int

const (
	BandUnder1h  Band = iota // < 1 h (green)
	BandUnder3h              // < 3 h
	BandUnder6h              // < 6 h
	BandUnder12h             // < 12 h
	BandUnder24h             // < 24 h
	BandOver24h              // > 24 h, and never declared

	NumBands = 6
)

// bandLimits[b] is the age from which a declaration is no longer in band b.
var bandLimits = [NumBands - 1]time.Duration{1 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

var bandLabels = [NumBands]string{"< 1 h", "< 3 h", "< 6 h", "< 12 h", "< 24 h", "> 24 h"}

// String returns the legend's label, "< 1 h" to "> 24 h".
func (b Band) String() string {
	if b < 0 || b >= NumBands {
		return "band(?)"
	}
	return bandLabels[b]
}

// OverdueAfter is how old a unit's last declaration may be before the unit
// is overdue (en retard, DOMAIN.md): the weekly obligation counted from now.
// Weekly compliance, per ISO week, is the trends' business.
const OverdueAfter = 7 * 24 * time.Hour

// age is how long before now last was declared; a declaration after now
// (clock skew between servers) is fresh, not negative.
func age(last, now time.Time) time.Duration {
	return max(now.Sub(last), 0)
}

// BandOf returns the band of a unit last declared at last, seen at now. A
// unit never declared (zero last) is in BandOver24h.
func BandOf(last, now time.Time) Band {
	if last.IsZero() {
		return BandOver24h
	}
	a := age(last, now)
	for b, limit := range bandLimits {
		if a < limit {
			return Band(b)
		}
	}
	return BandOver24h
}

// DepartmentFreshness counts a department's units per band.
type DepartmentFreshness struct {
	Department string
	Bands      [NumBands]int // indexed by Band
}

// FreshnessReport is how up to date the declarations are at an instant.
type FreshnessReport struct {
	Now time.Time
	// Departments are the matrix's columns: Île-de-France's departments in
	// order, then any other department that has units, sorted.
	Departments []DepartmentFreshness
	// Total counts every registered unit per band.
	Total [NumBands]int
	// Overdue are the open units whose last declaration is OverdueAfter
	// old or more (or that never declared), sorted as Units.
	Overdue []UnitView
}

// Freshness reports, at instant now, every registered unit's band (closed
// units included) and the open units that are overdue.
// The caller passes now: the fold holds no clock, so replaying it gives the
// same answer for the same instant.
func (a *Availability) Freshness(now time.Time) FreshnessReport {
	deps := a.departments()
	r := FreshnessReport{
		Now:         now,
		Departments: make([]DepartmentFreshness, len(deps)),
		Overdue:     []UnitView{},
	}
	for i, d := range deps {
		r.Departments[i].Department = d
	}
	col := -1
	for _, e := range a.listed { // sorted by department, like deps
		if col < 0 || r.Departments[col].Department != e.dept {
			for col = 0; r.Departments[col].Department != e.dept; col++ {
			}
		}
		last := e.rec.declaredAt
		b := BandOf(last, now)
		r.Departments[col].Bands[b]++
		r.Total[b]++
		if !e.rec.closed && Overdue(last, now) {
			r.Overdue = append(r.Overdue, e.view())
		}
	}
	return r
}

// Overdue reports whether a unit last declared at last (zero: never) is
// overdue at now. Closed and retired units are not held to the obligation:
// the caller leaves them out.
func Overdue(last, now time.Time) bool { return last.IsZero() || age(last, now) >= OverdueAfter }

// NextChange is the first instant after now at which what a unit last
// declared at last shows changes with the clock alone — its band, or
// whether it is overdue — so that an answer rendered at now holds until
// then. Zero when it never changes (never declared, or overdue already).
func NextChange(last, now time.Time) time.Time {
	if last.IsZero() {
		return time.Time{}
	}
	for _, limit := range append(bandLimits[:], OverdueAfter) {
		if t := last.Add(limit); t.After(now) {
			return t
		}
	}
	return time.Time{}
}
