package projections

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"dispo/domain"
)

// Trends is the agency's (ARS) fold: weekly capacity trends per ISO week,
// per department, per unit type, per department and type, and for the
// region.
//
// # Weeks
//
// A week is an ISO 8601 week of Europe/Paris local time: from Monday 00:00 to
// the next Monday 00:00, whatever the zone of the server. It lasts 168 hours,
// 169 when it holds the end of summer time (last Sunday of October) and 167
// when it holds its start (last Sunday of March). Times are those the log
// recorded events at (RecordedAt), not the start a closure declares: the
// ledger shows a unit closed from the moment the closure is recorded, and so
// do the trends. The fold's time never goes back: an event recorded before
// the latest one folded (clocks of two servers) takes effect at that latest
// instant. Durations are counted in milliseconds.
//
// # What a unit counts for
//
// At each instant the fold knows, per unit, what the consultation matrix
// shows, with the rules of Availability (it folds one, so the two cannot
// disagree), and per group of units (a department and type, a department, a
// type, the region) the sum:
//
//   - A unit counts from its first declaration on: before it, it adds nothing,
//     neither available nor installed places, and it is not "observed".
//   - Its installed places are those of its last declaration, closed or not.
//   - Its available places are those of its last declaration, 0 while it is
//     closed (and after a reopening until it declares again: the domain's
//     rule, the closure zeroes the declared count).
//   - Pools (lits mutualisés): the pool's count (the newest declaration of its
//     current members, as in Availability) is counted once in a group as
//     long as at least one member of the group counts (has declared) and is
//     open, never once per member; a member's own count is not added. The
//     weight of a pool in a group is therefore the time during which at
//     least one of its open, declared members was in the group, whatever
//     the number of such members. So with pools a region's figure is not
//     the sum of its departments' (a pool across two departments is counted
//     in each, once in the region), exactly as in the matrix.
//
// # Figures of a group for a week
//
//   - MeanAvailable, MeanInstalled: the time-weighted mean of the group's
//     total over the week: the integral of the total over the week divided by
//     the week's length (167, 168 or 169 hours), or for the open week by the
//     time elapsed since Monday 00:00. Units that do not count yet contribute 0,
//     so the mean of a group is the sum of the means of its units (pools
//     aside).
//   - MinAvailable, MaxAvailable: the least and greatest total held for a
//     positive time during the week while at least one unit of the group
//     counted; nil if none counted during the week. A total held for no time
//     (two events recorded at the same instant) is not a value the group had.
//   - EndAvailable: the total in force at the end of the week (for the open
//     week: now); nil if no unit of the group counted then.
//   - Declarations: the availability declarations made during the week.
//   - UnitsExpected (the compliance denominator): the units registered and open
//     at some moment of the week (so far, for the open week), declared before
//     or not; a unit closed the whole week is not expected, a unit registered
//     or reopened during the week is.
//   - UnitsDeclared: the expected units that declared at least once in the
//     week. Compliance = UnitsDeclared / UnitsExpected, nil when none is
//     expected; Missed = UnitsExpected - UnitsDeclared, and the week lists
//     those units. This is the calendar reading of the weekly obligation
//     (at least one declaration per ISO week), stricter than the rolling one of
//     Freshness (no gap of 7 days): a unit declaring on a Sunday then on the
//     second Saturday after never waits 7 days but misses the week between.
//   - DaysClosed: unit-days of closure (indisponibilité totale): the time each
//     registered unit of the group spent closed during the week, summed, in
//     days of 24 hours (fractional); a unit closed all of a 169-hour week
//     counts 169/24 days.
//
// Compliance, declarations and the missed list count a unit in the group it
// is in at the end of the week (a change of department or type moves it);
// the totals move with it at the instant of the change.
//
// # Incremental
//
// Each event updates the groups of its unit (and of its pool) at the instant
// it was recorded: a group keeps its current totals and the integrals of its
// current week, and when time passes a Monday 00:00 every group and every
// unit gets a record for the new week (weeks without a unit event in between
// share one record). The state grows with the groups and the units times
// the weeks, never with the events; a query reads the records and adds the
// part of the open week since the last event, up to the instant it is
// given. The fold holds no clock.
//
// Like Availability, a Trends is not safe for concurrent use: Apply must be
// serialized with everything else; Weekly and Position only read.
type Trends struct {
	a     *Availability // the units and pools, folded by the matrix's rules
	pos   uint64
	clock int64 // the fold's time, Unix ms: the latest recorded-at folded

	units map[*entry]*trendUnit // the pools' members
	byID  map[string]*trendUnit
	list  []*trendUnit // by trendUnit.idx, in the order first seen
	pools map[*pool]*trendPool

	groups []*trendGroup // 0 is the region
	byKey  map[groupKey]int32

	weeks []*trendWeek // consecutive; the last is the current one
	swap  []int32      // scratch for refreshPool
}

// groupKey names a group: a department and a type, "" for all.
type groupKey struct{ dept, typ string }

// groupTotals are a group's totals at an instant.
type groupTotals struct {
	avail   int64 // available places, pools counted once
	inst    int64 // installed places
	counted int64 // units counting (registered, declared at least once)
	closed  int64 // registered units closed
}

// trendGroup is a group's totals now.
type trendGroup struct {
	key groupKey
	// For a department-and-type group (a cell): the four groups a unit of
	// the cell counts in: the cell, its department, its type, the region.
	cell [4]int32
	groupTotals
	since int64 // the totals hold since then (Unix ms), within the current week
}

// groupWeek is what a group did during a week.
type groupWeek struct {
	availMs, instMs int64 // integrals of the totals, place·ms
	coveredMs       int64 // time during which at least one unit counted
	closedMs        int64 // integral of the closed units, unit·ms
	min, max        int64 // of the available total while coveredMs grows
	end             int64 // available total at the end of the week
	endCounted      bool  // a unit counted at the end of the week
}

// unitWeek is what a unit did during a week.
type unitWeek struct {
	cell     int32 // its cell at the end of the week; -1: not registered
	decls    int32 // declarations
	expected bool  // registered and open at some moment
}

// trendWeek is a week's record, or a quiet run's: weeks without any event
// of a unit, whose totals and units did not change, are kept as one record
// (a log that stops for a year, or a clock set far ahead, costs one week).
type trendWeek struct {
	n, span    int64         // weeks n to n+span-1 (see weekStart); a quiet run may span 1 week
	start, end int64         // of the week (of the run), Unix ms
	groups     []groupWeek   // a week: what each group did
	quiet      []groupTotals // a quiet run: each group's totals, held all along
	units      []unitWeek    // by trendUnit.idx
}

// trendUnit is what a unit currently adds to the groups of its cell.
type trendUnit struct {
	e           *entry
	idx         int32
	cell        int32 // -1 when not registered
	counted     bool
	closed      bool
	avail, inst int64
}

// trendPool is what a pool currently adds: available to each of groups.
type trendPool struct {
	available int64
	groups    []int32
}

// NewTrends returns an empty fold, at position 0.
func NewTrends() *Trends {
	t := &Trends{
		a:     NewAvailability(),
		units: make(map[*entry]*trendUnit),
		byID:  make(map[string]*trendUnit),
		pools: make(map[*pool]*trendPool),
		byKey: make(map[groupKey]int32),
	}
	t.group(groupKey{}, 0)
	return t
}

// Position is the checkpoint: the position of the last applied envelope.
func (t *Trends) Position() uint64 { return t.pos }

// Apply folds one envelope. Envelopes must come in position order; one at or
// before a non-zero checkpoint is a redelivery and is ignored. Events of
// streams that are not unit streams only advance the position.
func (t *Trends) Apply(env *domain.Envelope) {
	if env == nil || t.pos != 0 && env.Position <= t.pos {
		return
	}
	t.pos = env.Position
	id, ok := domain.UnitIDFromStream(env.Stream)
	if !ok {
		t.a.Apply(env)
		return
	}
	now := t.advance(env.RecordedAt.UnixMilli())
	var oldPool *pool
	u := t.byID[id]
	if u != nil {
		oldPool = u.e.pool
	}
	t.a.Apply(env)
	if u == nil {
		e := t.a.units[id]
		u = &trendUnit{e: e, idx: int32(len(t.list)), cell: -1}
		t.units[e] = u
		t.byID[id] = u
		t.list = append(t.list, u)
	}
	e := u.e
	switch env.Event.(type) {
	case domain.UnitRegistered, domain.UnitDetailsChanged, domain.UnitRetired:
		t.moveUnit(u, now)
	}
	t.refreshUnit(u, now)
	if oldPool != nil {
		t.refreshPool(oldPool, now)
	}
	if e.pool != nil && e.pool != oldPool {
		t.refreshPool(e.pool, now)
	}

	w := t.weeks[len(t.weeks)-1]
	for int(u.idx) >= len(w.units) {
		w.units = append(w.units, unitWeek{cell: -1})
	}
	if u.cell >= 0 {
		uw := &w.units[u.idx]
		uw.cell = u.cell
		uw.expected = uw.expected || !u.closed
		if _, ok := env.Event.(domain.AvailabilityDeclared); ok {
			uw.decls++
		}
	}
}

// advance moves the fold's time to at (Unix ms), never back, closing the
// weeks it passes, and returns the fold's time.
func (t *Trends) advance(at int64) int64 {
	if len(t.weeks) == 0 {
		n := weekOf(time.UnixMilli(at))
		t.weeks = append(t.weeks, t.newWeek(n))
		for _, g := range t.groups {
			g.since = t.weeks[0].start
		}
		t.clock = at
	}
	if at < t.clock {
		at = t.clock
	}
	if cur := t.weeks[len(t.weeks)-1]; at >= cur.end {
		for i, g := range t.groups {
			gw := &cur.groups[i]
			t.flush(g, gw, cur.end)
			gw.end, gw.endCounted = g.avail, g.counted > 0
		}
		n := weekOf(time.UnixMilli(at))
		if n > cur.n+1 {
			run := t.newWeek(cur.n + 1)
			run.span, run.end, run.groups = n-run.n, weekStart(n).UnixMilli(), nil
			run.quiet = make([]groupTotals, len(t.groups))
			for i, g := range t.groups {
				run.quiet[i] = g.groupTotals
			}
			t.weeks = append(t.weeks, run)
		}
		next := t.newWeek(n)
		t.weeks = append(t.weeks, next)
		for _, g := range t.groups {
			g.since = next.start
		}
	}
	t.clock = at
	return at
}

// newWeek returns week n's record, with each unit as it is now.
func (t *Trends) newWeek(n int64) *trendWeek {
	w := &trendWeek{n: n, span: 1, start: weekStart(n).UnixMilli(), end: weekStart(n + 1).UnixMilli(),
		groups: make([]groupWeek, len(t.groups)), units: make([]unitWeek, len(t.list))}
	for i, u := range t.list {
		w.units[i] = unitWeek{cell: u.cell, expected: u.cell >= 0 && !u.closed}
	}
	return w
}

// flush adds to gw the totals of g held from g.since to at.
func (t *Trends) flush(g *trendGroup, gw *groupWeek, at int64) {
	held(g.groupTotals, gw, g.since, at)
	if at > g.since {
		g.since = at
	}
}

// held adds to gw the totals g held from from to to.
func held(g groupTotals, gw *groupWeek, from, to int64) {
	dt := to - from
	if dt <= 0 {
		return
	}
	gw.availMs += g.avail * dt
	gw.instMs += g.inst * dt
	gw.closedMs += g.closed * dt
	if g.counted > 0 {
		if gw.coveredMs == 0 {
			gw.min, gw.max = g.avail, g.avail
		}
		gw.min, gw.max = min(gw.min, g.avail), max(gw.max, g.avail)
		gw.coveredMs += dt
	}
}

// group returns the id of group k, created if needed.
func (t *Trends) group(k groupKey, now int64) int32 {
	if id, ok := t.byKey[k]; ok {
		return id
	}
	id := int32(len(t.groups))
	t.groups = append(t.groups, &trendGroup{key: k, since: now})
	t.byKey[k] = id
	if len(t.weeks) > 0 {
		w := t.weeks[len(t.weeks)-1]
		w.groups = append(w.groups, groupWeek{})
	}
	return id
}

// cellOf returns the cell group of a department and type.
func (t *Trends) cellOf(dept, typ string, now int64) int32 {
	k := groupKey{dept, typ}
	if id, ok := t.byKey[k]; ok {
		return id
	}
	d, ty := t.group(groupKey{dept: dept}, now), t.group(groupKey{typ: typ}, now)
	c := t.group(k, now)
	t.groups[c].cell = [4]int32{c, d, ty, 0}
	return c
}

// add changes the totals of the four groups of cell at now.
func (t *Trends) add(cell int32, now, avail, inst, counted, closed int64) {
	w := t.weeks[len(t.weeks)-1]
	for _, id := range t.groups[cell].cell {
		g := t.groups[id]
		t.flush(g, &w.groups[id], now)
		g.avail += avail
		g.inst += inst
		g.counted += counted
		g.closed += closed
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// moveUnit puts u in the cell of its department and type, after a
// registration or a change of details, with what it adds.
func (t *Trends) moveUnit(u *trendUnit, now int64) {
	sh := u.e.share()
	if !sh.inDirectory && u.cell >= 0 {
		// Retired: it leaves its group's totals and every week from now on.
		t.add(u.cell, now, -u.avail, -u.inst, -b2i(u.counted), -b2i(u.closed))
		u.cell, u.counted, u.closed, u.avail, u.inst = -1, false, false, 0, 0
	}
	if !sh.inDirectory {
		return
	}
	un := sh.unit
	if u.cell >= 0 && t.groups[u.cell].key == (groupKey{un.Department, un.Type}) {
		return
	}
	cell := t.cellOf(un.Department, un.Type, now)
	if u.cell >= 0 {
		t.add(u.cell, now, -u.avail, -u.inst, -b2i(u.counted), -b2i(u.closed))
	}
	t.add(cell, now, u.avail, u.inst, b2i(u.counted), b2i(u.closed))
	u.cell = cell
}

// refreshUnit brings what u adds to the groups of its cell in line with
// its state.
func (t *Trends) refreshUnit(u *trendUnit, now int64) {
	sh := u.e.share()
	cell := u.cell
	counted := cell >= 0 && sh.declared
	var avail, inst int64
	if counted {
		inst, avail = int64(sh.installed), int64(sh.available)
	}
	closed := cell >= 0 && sh.unitClosed
	if cell < 0 || counted == u.counted && closed == u.closed && avail == u.avail && inst == u.inst {
		return
	}
	t.add(cell, now, avail-u.avail, inst-u.inst, b2i(counted)-b2i(u.counted), b2i(closed)-b2i(u.closed))
	u.counted, u.closed, u.avail, u.inst = counted, closed, avail, inst
}

// refreshPool brings what p adds to the groups in line with its count and
// its members: its count once in each group of its open, declared members.
func (t *Trends) refreshPool(p *pool, now int64) {
	tp := t.pools[p]
	if tp == nil {
		tp = &trendPool{}
		t.pools[p] = tp
	}
	groups := t.swap[:0]
	for _, m := range p.members {
		mu := t.units[m]
		if mu == nil || !mu.counted || !m.share().shared {
			continue
		}
		for _, id := range t.groups[mu.cell].cell {
			if !slices.Contains(groups, id) {
				groups = append(groups, id)
			}
		}
	}
	avail := int64(p.available)
	w := t.weeks[len(t.weeks)-1]
	if avail != tp.available || !slices.Equal(groups, tp.groups) {
		for _, id := range tp.groups {
			g := t.groups[id]
			t.flush(g, &w.groups[id], now)
			g.avail -= tp.available
		}
		for _, id := range groups {
			g := t.groups[id]
			t.flush(g, &w.groups[id], now)
			g.avail += avail
		}
	}
	t.swap, tp.groups, tp.available = tp.groups, groups, avail
	if len(p.members) == 0 {
		delete(t.pools, p)
	}
}

// Weeks are numbered from the one of Monday 29 December 1969.

// weekOf returns the number of the week holding t, in Paris.
func weekOf(t time.Time) int64 {
	y, m, d := t.In(paris).Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // since Thursday 1970-01-01
	n := days + 3
	if n < 0 {
		return (n - 6) / 7
	}
	return n / 7
}

// weekStart returns the start of week n: Monday 00:00 in Paris.
func weekStart(n int64) time.Time {
	return time.Date(1970, 1, 1+int(n*7-3), 0, 0, 0, 0, paris)
}

// weekName returns the ISO 8601 name of week n, "2025-W44".
func weekName(n int64) string {
	y, w := weekStart(n).ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// TrendQuery asks for weekly trends.
type TrendQuery struct {
	// From and To are the first and last weeks: a date "2025-10-06" (the
	// week holding that day, in Paris) or an ISO week "2025-W41". From
	// defaults to 12 weeks before To, To to the week holding Now. The range
	// spans at most 10 years; dates are from 2000-01-01 to 2199-12-31.
	From, To string
	// Department and Type restrict the units ("" for all): a department
	// code ("77", "2A", "971"), a unit type code of the catalog ("udm").
	Department, Type string
	// Now is the instant the open week is computed up to; weeks that have not
	// begun by then are left out. An instant before the last event folded
	// is taken as that event's (the fold does not unlearn); the zero time is
	// that event's time too.
	Now time.Time
}

// Date limits of a TrendQuery.
var (
	trendsFirstDay = time.Date(2000, 1, 1, 0, 0, 0, 0, paris)
	trendsLastDay  = time.Date(2199, 12, 31, 0, 0, 0, 0, paris)
)

// MaxTrendYears bounds the span of a TrendQuery.
const MaxTrendYears = 10

// TrendReport is the answer to a TrendQuery.
type TrendReport struct {
	From       string      `json:"from"` // ISO week
	To         string      `json:"to"`
	Department string      `json:"department"` // the filter, "" for none
	Type       string      `json:"type"`
	Now        time.Time   `json:"now"`      // the instant the open week runs to
	Position   uint64      `json:"position"` // of the fold
	Weeks      []TrendWeek `json:"weeks"`    // from From to To, those begun by Now
}

// TrendWeek is one week of a report.
type TrendWeek struct {
	Week  string    `json:"week"`  // ISO 8601, "2025-W44"
	Start time.Time `json:"start"` // Monday 00:00, Paris
	End   time.Time `json:"end"`   // the next Monday 00:00, Paris (excluded)
	Hours float64   `json:"hours"` // 167, 168 or 169
	// Open is true for the week holding Now: its figures run to Now,
	// over ElapsedHours.
	Open         bool    `json:"open"`
	ElapsedHours float64 `json:"elapsed_hours"`
	// Rows: with no filter, the region, each department, each type, each
	// department and type; with a filter, the filtered group then its
	// breakdown. Departments in the matrix's order, types in the catalog's.
	Rows []TrendRow `json:"rows"`
	// Missed lists the units of the filter that were expected to declare
	// during the week and did not, by department then unit id.
	Missed []MissedUnit `json:"missed"`
}

// TrendRow is a group's figures for a week; see Trends for their definitions.
type TrendRow struct {
	Scope         string   `json:"scope"`      // "region", "department", "type" or "department_type"
	Department    string   `json:"department"` // "" for all
	Type          string   `json:"type"`       // "" for all
	MeanAvailable float64  `json:"mean_available"`
	MeanInstalled float64  `json:"mean_installed"`
	MinAvailable  *int64   `json:"min_available"` // nil: no unit counted during the week
	MaxAvailable  *int64   `json:"max_available"`
	EndAvailable  *int64   `json:"end_available"` // nil: no unit counted at the end
	Declarations  int      `json:"declarations"`
	UnitsDeclared int      `json:"units_declared"`
	UnitsExpected int      `json:"units_expected"`
	Compliance    *float64 `json:"compliance"` // UnitsDeclared / UnitsExpected; nil when none expected
	Missed        int      `json:"missed"`     // UnitsExpected - UnitsDeclared
	DaysClosed    float64  `json:"days_closed"`
}

// MissedUnit is a unit that missed a week's declaration.
type MissedUnit struct {
	UnitID        string `json:"unit_id"`
	Department    string `json:"department"` // where it was at the end of the week
	Type          string `json:"type"`
	FINESS        string `json:"finess"` // details as they are now
	Establishment string `json:"establishment"`
	Name          string `json:"name"`
}

// Row scopes.
const (
	ScopeRegion         = "region"
	ScopeDepartment     = "department"
	ScopeType           = "type"
	ScopeDepartmentType = "department_type"
)

// parseTrendWeek returns the number of the week s names ("2025-10-06" or
// "2025-W41"), or an EInvalid error naming what.
func parseTrendWeek(what, s string) (int64, error) {
	var day time.Time
	if len(s) == 8 && s[4] == '-' && (s[5] == 'W' || s[5] == 'w') {
		if !digits(s[:4]) || !digits(s[6:]) {
			return 0, domain.FieldErrorf(domain.EInvalid, what, "%s : %q n'est ni une date (2025-10-06) ni une semaine ISO (2025-W41)", what, s)
		}
		y, _ := strconv.Atoi(s[:4])
		w, _ := strconv.Atoi(s[6:])
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, paris)
		day = jan4.AddDate(0, 0, -(int(jan4.Weekday())+6)%7+7*(w-1))
		if iy, iw := day.ISOWeek(); w < 1 || iy != y || iw != w {
			return 0, domain.FieldErrorf(domain.EInvalid, what, "%s : l'année %d n'a pas de semaine ISO %d", what, y, w)
		}
	} else {
		d, err := time.ParseInLocation(time.DateOnly, s, paris)
		if err != nil {
			return 0, domain.FieldErrorf(domain.EInvalid, what, "%s : %q n'est ni une date (2025-10-06) ni une semaine ISO (2025-W41)", what, s)
		}
		day = d
	}
	if day.Before(trendsFirstDay) || day.After(trendsLastDay) {
		return 0, domain.FieldErrorf(domain.EInvalid, what, "%s : %s est hors des dates possibles (du %s au %s)", what, s,
			trendsFirstDay.Format(time.DateOnly), trendsLastDay.Format(time.DateOnly))
	}
	return weekOf(day), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// trendRow is a row being computed: its group (-1 if the group does not
// exist) and its counts.
type trendRow struct {
	TrendRow
	id int32
}

// Weekly computes the trends of q. Returns EInvalid for a malformed or
// out-of-range date or week, From after To, a range over MaxTrendYears
// years, an unknown department or unit type, or no Now on an empty fold.
func (t *Trends) Weekly(q TrendQuery) (TrendReport, error) {
	if q.Department != "" && !domain.ValidDepartment(q.Department) {
		return TrendReport{}, domain.FieldErrorf(domain.EInvalid, "department", "département %q inconnu", q.Department)
	}
	if _, ok := domain.LookupType(q.Type); q.Type != "" && !ok {
		return TrendReport{}, domain.FieldErrorf(domain.EInvalid, "type", "type d'unité %q inconnu", q.Type)
	}
	now := q.Now.UnixMilli()
	if len(t.weeks) > 0 && (q.Now.IsZero() || now < t.clock) {
		now = t.clock
	} else if q.Now.IsZero() {
		return TrendReport{}, domain.Errorf(domain.EInvalid, "aucun instant jusqu'où calculer la semaine en cours : rien n'est encore replié")
	}
	nowT := time.UnixMilli(now)
	var from, to int64
	var err error
	if q.To != "" {
		if to, err = parseTrendWeek("to", q.To); err != nil {
			return TrendReport{}, err
		}
	} else {
		to = weekOf(nowT)
	}
	if q.From != "" {
		if from, err = parseTrendWeek("from", q.From); err != nil {
			return TrendReport{}, err
		}
	} else {
		from = to - 12
	}
	if from > to {
		msg := "from (%s) est après to (%s)"
		if q.To == "" {
			msg += " ; to vaut par défaut la semaine en cours"
		}
		return TrendReport{}, domain.FieldErrorf(domain.EInvalid, "from", msg, weekName(from), weekName(to))
	}
	if weekStart(to + 1).After(weekStart(from).AddDate(MaxTrendYears, 0, 0)) {
		return TrendReport{}, domain.FieldErrorf(domain.EInvalid, "from", "de %s à %s : plus de %d ans", weekName(from), weekName(to), MaxTrendYears)
	}

	rep := TrendReport{From: weekName(from), To: weekName(to), Department: q.Department, Type: q.Type,
		Now: nowT.UTC(), Position: t.pos, Weeks: []TrendWeek{}}
	rows := t.rows(q.Department, q.Type)
	rowOf := make([]int32, len(t.groups)) // group id -> row index, -1 if not shown
	for i := range rowOf {
		rowOf[i] = -1
	}
	for i, r := range rows {
		if r.id >= 0 {
			rowOf[r.id] = int32(i)
		}
	}
	var synth []unitWeek // the unit records of the weeks after the current one
	for n := from; n <= to; n++ {
		start, end := weekStart(n), weekStart(n+1)
		if start.UnixMilli() >= now {
			break
		}
		upto := min(end.UnixMilli(), now)
		elapsed := upto - start.UnixMilli()
		tw := TrendWeek{Week: weekName(n), Start: start, End: end, Hours: end.Sub(start).Hours(),
			Open: now < end.UnixMilli(), ElapsedHours: float64(elapsed) / float64(time.Hour/time.Millisecond),
			Rows: make([]TrendRow, len(rows)), Missed: []MissedUnit{}}
		nums := make([]int64, 3*len(rows)) // backing for the min, max, end pointers
		counts := make([][3]int, len(rows))
		for i, r := range rows {
			gw, ok := t.groupWeekAt(r.id, n, upto)
			row := r.TrendRow
			row.MeanAvailable = float64(gw.availMs) / float64(elapsed)
			row.MeanInstalled = float64(gw.instMs) / float64(elapsed)
			row.DaysClosed = float64(gw.closedMs) / float64(24*time.Hour/time.Millisecond)
			if ok && gw.coveredMs > 0 {
				nums[3*i], nums[3*i+1] = gw.min, gw.max
				row.MinAvailable, row.MaxAvailable = &nums[3*i], &nums[3*i+1]
			}
			if ok && gw.endCounted {
				nums[3*i+2] = gw.end
				row.EndAvailable = &nums[3*i+2]
			}
			tw.Rows[i] = row
		}
		units := t.unitWeeksAt(n, &synth)
		for i, uw := range units {
			if uw.cell < 0 {
				continue
			}
			g := t.groups[uw.cell]
			for _, id := range g.cell {
				if ri := rowOf[id]; ri >= 0 {
					c := &counts[ri]
					c[0] += int(uw.decls)
					if uw.expected {
						c[1]++
						if uw.decls > 0 {
							c[2]++
						}
					}
				}
			}
			if uw.expected && uw.decls == 0 && (q.Department == "" || q.Department == g.key.dept) && (q.Type == "" || q.Type == g.key.typ) {
				un := t.list[i].e.share().unit
				tw.Missed = append(tw.Missed, MissedUnit{UnitID: un.ID, Department: g.key.dept, Type: g.key.typ,
					FINESS: un.FINESS, Establishment: un.Establishment, Name: un.Name})
			}
		}
		for i := range tw.Rows {
			r := &tw.Rows[i]
			r.Declarations, r.UnitsExpected, r.UnitsDeclared = counts[i][0], counts[i][1], counts[i][2]
			r.Missed = r.UnitsExpected - r.UnitsDeclared
			if r.UnitsExpected > 0 {
				c := float64(r.UnitsDeclared) / float64(r.UnitsExpected)
				r.Compliance = &c
			}
		}
		slices.SortFunc(tw.Missed, func(x, y MissedUnit) int {
			return cmp.Or(cmp.Compare(x.Department, y.Department), cmp.Compare(x.UnitID, y.UnitID))
		})
		rep.Weeks = append(rep.Weeks, tw)
	}
	return rep, nil
}

// rows returns the rows a query shows, in order.
func (t *Trends) rows(dept, typ string) []trendRow {
	id := func(k groupKey) int32 {
		if id, ok := t.byKey[k]; ok {
			return id
		}
		return -1
	}
	row := func(k groupKey) trendRow {
		r := trendRow{TrendRow: TrendRow{Department: k.dept, Type: k.typ}, id: id(k)}
		switch {
		case k.dept == "" && k.typ == "":
			r.Scope = ScopeRegion
		case k.typ == "":
			r.Scope = ScopeDepartment
		case k.dept == "":
			r.Scope = ScopeType
		default:
			r.Scope = ScopeDepartmentType
		}
		return r
	}
	// The departments and types that have groups, in the matrix's order.
	var depts, types []string
	for _, g := range t.groups {
		switch {
		case g.key.dept != "" && g.key.typ == "":
			depts = append(depts, g.key.dept)
		case g.key.dept == "" && g.key.typ != "":
			types = append(types, g.key.typ)
		}
	}
	slices.SortFunc(depts, func(x, y string) int {
		return cmp.Or(cmp.Compare(departmentRank(x), departmentRank(y)), cmp.Compare(x, y))
	})
	slices.SortFunc(types, func(x, y string) int { return cmp.Compare(typeIndex(x), typeIndex(y)) })
	cells := func(ds, ts []string) []trendRow {
		var out []trendRow
		for _, d := range ds {
			for _, ty := range ts {
				if r := row(groupKey{d, ty}); r.id >= 0 {
					out = append(out, r)
				}
			}
		}
		return out
	}
	switch {
	case dept != "" && typ != "":
		return []trendRow{row(groupKey{dept, typ})}
	case dept != "":
		return append([]trendRow{row(groupKey{dept: dept})}, cells([]string{dept}, types)...)
	case typ != "":
		return append([]trendRow{row(groupKey{typ: typ})}, cells(depts, []string{typ})...)
	}
	out := []trendRow{row(groupKey{})}
	for _, d := range depts {
		out = append(out, row(groupKey{dept: d}))
	}
	for _, ty := range types {
		out = append(out, row(groupKey{typ: ty}))
	}
	return append(out, cells(depts, types)...)
}

// departmentRank orders departments as the matrix does: Île-de-France's
// first, in their order, then the others.
func departmentRank(d string) int {
	if i := slices.Index(domain.IleDeFrance, d); i >= 0 {
		return i
	}
	return len(domain.IleDeFrance)
}

// record returns the record holding week n, nil before the first one or
// after the current one.
func (t *Trends) record(n int64) *trendWeek {
	i, _ := slices.BinarySearchFunc(t.weeks, n, func(w *trendWeek, n int64) int {
		switch {
		case w.n+w.span <= n:
			return -1
		case w.n > n:
			return 1
		}
		return 0
	})
	if i == len(t.weeks) || t.weeks[i].n > n {
		return nil
	}
	return t.weeks[i]
}

// groupWeekAt returns what group id did during week n up to upto (Unix
// ms, within the week); false if nothing is known of it.
func (t *Trends) groupWeekAt(id int32, n, upto int64) (groupWeek, bool) {
	if id < 0 || len(t.weeks) == 0 || n < t.weeks[0].n {
		return groupWeek{}, false
	}
	cur := t.weeks[len(t.weeks)-1]
	g := t.groups[id]
	var gw groupWeek
	switch {
	case n < cur.n:
		w := t.record(n)
		switch {
		case w.quiet == nil && int(id) < len(w.groups):
			return w.groups[id], true
		case w.quiet != nil && int(id) < len(w.quiet): // a quiet run, of one week or more
			held(w.quiet[id], &gw, weekStart(n).UnixMilli(), weekStart(n+1).UnixMilli())
			gw.end, gw.endCounted = w.quiet[id].avail, w.quiet[id].counted > 0
			return gw, true
		}
		return groupWeek{}, false
	case n == cur.n:
		gw = cur.groups[id]
		held(g.groupTotals, &gw, g.since, upto)
	default: // a week after the last event: the totals held all along
		held(g.groupTotals, &gw, weekStart(n).UnixMilli(), upto)
	}
	gw.end, gw.endCounted = g.avail, g.counted > 0
	return gw, true
}

// unitWeeksAt returns the unit records of week n. Those of the weeks after
// the current one are the units as they are now, built once in *synth.
func (t *Trends) unitWeeksAt(n int64, synth *[]unitWeek) []unitWeek {
	if len(t.weeks) == 0 || n < t.weeks[0].n {
		return nil
	}
	if w := t.record(n); w != nil {
		return w.units
	}
	if *synth == nil {
		s := make([]unitWeek, len(t.list))
		for i, u := range t.list {
			s[i] = unitWeek{cell: u.cell, expected: u.cell >= 0 && !u.closed}
		}
		*synth = s
	}
	return *synth
}
