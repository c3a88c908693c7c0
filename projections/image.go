package projections

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"dispo/domain"
)

// Image is the whole state of a Live's folds (the availability fold, the
// trends fold, the position) as plain data, so that a restart can resume
// following the log after Position instead of folding it again from 0:
// Restore(l.Image()) gives a Live that folds on exactly as l does.
//
// It is what only this package knows; how it is stored is its keeper's
// business (cmd/dispo/app writes it in a file of its own format). Any
// change to these types or to what they mean changes that stored payload,
// and its keeper must then bump its format version.
//
// Units and pools are in id order, pool members and the trends' units in
// the folds' own order, so that two folds that hold the same state give
// equal images. The as-of checkpoints (see AsOf) are not in it: after
// Restore the Live keeps one at the image's position, so an as-of query at
// or after the image's last event starts from it, and one before it folds
// the log from position 0 until RebuildCheckpoints gives them back.
//
// An image does not identify the log it was taken of: it must be kept with
// that log (positions of another log, or of an esdblog index of another
// replica, do not mean the same events). Begin refuses one whose position
// is past the log's head.
type Image struct {
	Position uint64
	// LastChange is when the event at Position was recorded; zero before any.
	LastChange   time.Time
	Availability AvailabilityImage
	Trends       TrendsImage
}

// AvailabilityImage is the availability fold.
type AvailabilityImage struct {
	Position uint64
	Seq      uint64      // unit events folded: orders the declarations
	Units    []UnitImage // every unit seen, registered or not, by id
	Pools    []PoolImage // the pools with a member, by id
}

// UnitImage is one unit of the availability fold: its record, folded from
// its own stream, and the order of its last declaration among all units'.
// A unit registered and not retired is listed (in Units, the matrix...)
// under its department and establishment.
type UnitImage struct {
	ID         string
	Registered bool
	Retired    bool
	Unit       domain.Unit
	// The last declaration, as corrected.
	Available, Installed, ClosedPlaces int
	DeclarationID                      domain.EventID
	DeclaredAt                         time.Time // zero if never declared
	CapacitySource, ClosingType        string    // the last declaration's
	// DeclarationSeq orders the last declaration among the fold's (see
	// AvailabilityImage.Seq): the newest of a pool's members makes its
	// count. 0: never declared.
	DeclarationSeq uint64
	Awaiting       bool // reopened, not declared since
	Comment        string
	CommentAt      time.Time
	Closed         bool
	Closure        domain.Closure // the ongoing closure when Closed
	Pool           string         // "" when not pooled
	Events         uint64         // events of its stream folded: its revision is Events-1
	RegisteredAt   time.Time      // recorded-at of its registration
	UpdatedAt      time.Time      // recorded-at of its stream's last event
}

// PoolImage is a pool: units sharing one available count.
type PoolImage struct {
	ID        string
	Members   []string  // unit ids, in the order they joined
	Available int       // the count of the newest declaration of a member
	Seq       uint64    // that declaration's DeclarationSeq, 0 if none declared
	UpdatedAt time.Time // recorded-at of the last event of a member, one leaving included
}

// TrendsImage is the trends fold's own state (its units and pools are those
// of the availability fold beside it).
type TrendsImage struct {
	Position uint64
	Clock    int64             // the fold's time, Unix ms: the latest recorded-at folded
	Units    []TrendUnitImage  // in the order first seen
	Pools    []TrendPoolImage  // by pool id
	Groups   []TrendGroupImage // the first is the region
	Weeks    []TrendWeekImage  // consecutive; the last is the current one
}

// TrendUnitImage is what a unit currently adds to the groups of its cell.
type TrendUnitImage struct {
	ID                   string
	Cell                 int32 // its department-and-type group; -1 when not registered
	Counted, Closed      bool
	Available, Installed int64
}

// TrendPoolImage is what a pool currently adds: Available to each of Groups.
type TrendPoolImage struct {
	ID        string
	Available int64
	Groups    []int32
}

// TrendTotals are a group's totals at an instant.
type TrendTotals struct {
	Available, Installed int64 // places, a pool's counted once
	Counted, Closed      int64 // units
}

// TrendGroupImage is a group's totals now. A department-and-type group (a
// cell) names the four groups its units count in: itself, its department,
// its type, the region.
type TrendGroupImage struct {
	Department, Type string // "" for all
	Cell             [4]int32
	Totals           TrendTotals
	Since            int64 // the totals hold since then, Unix ms
}

// TrendWeekImage is a week's record (Span 1, with Groups) or a quiet run's
// (Span >= 1, with the Quiet totals held all along).
type TrendWeekImage struct {
	N, Span    int64 // weeks N to N+Span-1
	Start, End int64 // Unix ms
	Groups     []TrendGroupWeekImage
	Quiet      []TrendTotals
	Units      []TrendUnitWeekImage // in the order of TrendsImage.Units
}

// TrendGroupWeekImage is what a group did during a week.
type TrendGroupWeekImage struct {
	AvailableMs, InstalledMs int64 // integrals of the totals, place·ms
	CoveredMs                int64 // time during which a unit counted
	ClosedMs                 int64 // integral of the closed units, unit·ms
	Min, Max, End            int64 // of the available total
	EndCounted               bool  // a unit counted at the end of the week
}

// TrendUnitWeekImage is what a unit did during a week.
type TrendUnitWeekImage struct {
	Cell, Declarations int32 // Cell: its group at the end of the week; -1: not registered
	Expected           bool  // registered and open at some moment
}

// ErrBadImage is the error Restore returns, wrapped with the reason, for
// an image whose folds do not hold together (folding on from them could
// fail or show what no log gives).
var ErrBadImage = errors.New("projections: inconsistent image")

func badImage(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadImage}, args...)...)
}

// Image returns the state of l's folds at the position they reached. It may
// run while a follower applies events: it copies under the read lock. The
// result shares nothing with l.
func (l *Live) Image() Image {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return Image{Position: l.a.pos, LastChange: l.LastChange(), Availability: l.a.image(), Trends: l.t.image()}
}

// Restore loads img, an Image of some Live, into l, which must be new: no
// Begin, no event applied (otherwise an error that is not ErrBadImage). A
// follower then applies the events after img.Position. An image whose
// folds do not hold together is refused with an error wrapping ErrBadImage,
// and l is left as it was. l shares nothing with img afterwards.
func (l *Live) Restore(img Image) error {
	if err := l.restorable(); err != nil {
		return err
	}
	t, err := img.restore()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.restorable(); err != nil {
		return err
	}
	l.t, l.a = t, t.a
	l.checkpoints = nil
	var lastAt int64
	if !img.LastChange.IsZero() {
		lastAt = img.LastChange.UnixNano()
	}
	if img.Position > 0 {
		l.checkpoints = []checkpoint{{pos: img.Position, last: time.Unix(0, lastAt).UTC(), a: t.a.Clone()}}
	}
	l.lastAt.Store(lastAt)
	l.pos.Store(img.Position)
	return nil
}

func (l *Live) restorable() error {
	if l.started.Load() || l.pos.Load() != 0 {
		return errors.New("projections: Restore on a Live that already folded events or follows a log")
	}
	return nil
}

// restore rebuilds the folds of img, checking that they hold together so
// that folding on from them cannot fail.
func (img *Image) restore() (*Trends, error) {
	if img.Availability.Position != img.Position || img.Trends.Position != img.Position {
		return nil, badImage("positions disagree: live %d, availability %d, trends %d",
			img.Position, img.Availability.Position, img.Trends.Position)
	}
	// Live keeps the last change in Unix ns: a time it cannot hold would
	// come back as another.
	if at := img.LastChange; !at.IsZero() && !time.Unix(0, at.UnixNano()).Equal(at) {
		return nil, badImage("last change %v is out of range", at)
	}
	a, err := restoreAvailability(&img.Availability)
	if err != nil {
		return nil, err
	}
	return restoreTrends(&img.Trends, a)
}

func (a *Availability) image() AvailabilityImage {
	s := AvailabilityImage{Position: a.pos, Seq: a.seq, Units: make([]UnitImage, 0, len(a.units)),
		Pools: make([]PoolImage, 0, len(a.pools))}
	for _, e := range a.units {
		s.Units = append(s.Units, e.image())
	}
	slices.SortFunc(s.Units, func(x, y UnitImage) int { return cmp.Compare(x.ID, y.ID) })
	for _, p := range a.pools {
		ps := PoolImage{ID: p.id, Members: make([]string, len(p.members)), Available: p.available, Seq: p.seq, UpdatedAt: p.updated}
		for i, m := range p.members {
			ps.Members[i] = m.id
		}
		s.Pools = append(s.Pools, ps)
	}
	slices.SortFunc(s.Pools, func(x, y PoolImage) int { return cmp.Compare(x.ID, y.ID) })
	return s
}

func (e *entry) image() UnitImage {
	r := &e.rec
	return UnitImage{ID: e.id, Registered: r.registered, Retired: r.retired, Unit: r.unit,
		Available: r.available, Installed: r.installed, ClosedPlaces: r.closedPlaces,
		DeclarationID: r.declID, DeclaredAt: r.declaredAt, CapacitySource: r.capacitySource, ClosingType: r.closingType, DeclarationSeq: e.declSeq, Awaiting: r.awaiting,
		Comment: r.comment, CommentAt: r.commentAt, Closed: r.closed, Closure: r.closure, Pool: r.pool, Events: r.events,
		RegisteredAt: r.registeredAt, UpdatedAt: r.updatedAt}
}

// entryOf returns the entry u is the image of, in no list or pool yet.
func entryOf(u *UnitImage) *entry {
	return &entry{id: u.ID, declSeq: u.DeclarationSeq, rec: unitRecord{registered: u.Registered, retired: u.Retired,
		unit: u.Unit, available: u.Available, installed: u.Installed, closedPlaces: u.ClosedPlaces,
		declID: u.DeclarationID, declaredAt: u.DeclaredAt, capacitySource: u.CapacitySource, closingType: u.ClosingType, awaiting: u.Awaiting, comment: u.Comment,
		commentAt: u.CommentAt, closed: u.Closed, closure: u.Closure, pool: u.Pool, events: u.Events,
		registeredAt: u.RegisteredAt, updatedAt: u.UpdatedAt}}
}

func restoreAvailability(s *AvailabilityImage) (*Availability, error) {
	a := NewAvailability()
	a.pos, a.seq = s.Position, s.Seq
	for i := range s.Units {
		u := &s.Units[i]
		switch {
		case u.ID == "" || a.units[u.ID] != nil:
			return nil, badImage("unit id %q is empty or repeated", u.ID)
		case u.DeclarationSeq > s.Seq:
			return nil, badImage("unit %s declared at sequence %d, after the fold's %d", u.ID, u.DeclarationSeq, s.Seq)
		case u.Events == 0:
			return nil, badImage("unit %s has folded no event", u.ID)
		case !u.Closed && u.Closure != (domain.Closure{}):
			return nil, badImage("unit %s is open with a closure", u.ID)
		}
		e := entryOf(u)
		// Apply lists exactly these, under their unit's department and
		// establishment: the image need not say it, nor can contradict it.
		if e.rec.registered && !e.rec.retired {
			e.dept, e.est = e.rec.unit.Department, e.rec.unit.Establishment
			e.listed = true
			a.listed = append(a.listed, e)
		}
		a.units[u.ID] = e
	}
	slices.SortFunc(a.listed, compareEntries)
	for _, ps := range s.Pools {
		if ps.ID == "" || a.pools[ps.ID] != nil || len(ps.Members) == 0 || ps.Seq > s.Seq {
			return nil, badImage("pool %q is repeated, empty or declared after the fold", ps.ID)
		}
		p := &pool{id: ps.ID, available: ps.Available, seq: ps.Seq, updated: ps.UpdatedAt, members: make([]*entry, len(ps.Members))}
		var newest *entry
		for i, id := range ps.Members {
			e := a.units[id]
			if e == nil || e.pool != nil || e.rec.pool != ps.ID {
				return nil, badImage("pool %s: member %q is unknown, in another pool, or not pooled in it", ps.ID, id)
			}
			e.pool, p.members[i] = p, e
			if e.declSeq != 0 && (newest == nil || e.declSeq > newest.declSeq) {
				newest = e
			}
		}
		// The count is the newest declaration of a member (see join and leave).
		if newest == nil && (ps.Seq != 0 || ps.Available != 0) ||
			newest != nil && (ps.Seq != newest.declSeq || ps.Available != newest.rec.available) {
			return nil, badImage("pool %s: its count (%d, sequence %d) is not its newest member's declaration", ps.ID, ps.Available, ps.Seq)
		}
		a.pools[ps.ID] = p
	}
	for _, e := range a.units {
		if e.rec.pool != "" && e.pool == nil {
			return nil, badImage("unit %s is pooled in %s but no such pool holds it", e.id, e.rec.pool)
		}
	}
	return a, nil
}

func totalsImage(g groupTotals) TrendTotals {
	return TrendTotals{Available: g.avail, Installed: g.inst, Counted: g.counted, Closed: g.closed}
}

func (s TrendTotals) totals() groupTotals {
	return groupTotals{avail: s.Available, inst: s.Installed, counted: s.Counted, closed: s.Closed}
}

// image returns t's own state (not its Availability's).
func (t *Trends) image() TrendsImage {
	s := TrendsImage{Position: t.pos, Clock: t.clock, Units: make([]TrendUnitImage, len(t.list)),
		Pools: make([]TrendPoolImage, 0, len(t.pools)), Groups: make([]TrendGroupImage, len(t.groups)),
		Weeks: make([]TrendWeekImage, len(t.weeks))}
	for i, u := range t.list {
		s.Units[i] = TrendUnitImage{ID: u.e.id, Cell: u.cell, Counted: u.counted, Closed: u.closed, Available: u.avail, Installed: u.inst}
	}
	for p, tp := range t.pools {
		s.Pools = append(s.Pools, TrendPoolImage{ID: p.id, Available: tp.available, Groups: slices.Clone(tp.groups)})
	}
	slices.SortFunc(s.Pools, func(x, y TrendPoolImage) int { return cmp.Compare(x.ID, y.ID) })
	for i, g := range t.groups {
		s.Groups[i] = TrendGroupImage{Department: g.key.dept, Type: g.key.typ, Cell: g.cell, Totals: totalsImage(g.groupTotals), Since: g.since}
	}
	for i, w := range t.weeks {
		ws := TrendWeekImage{N: w.n, Span: w.span, Start: w.start, End: w.end}
		if w.groups != nil {
			ws.Groups = make([]TrendGroupWeekImage, len(w.groups))
			for j, gw := range w.groups {
				ws.Groups[j] = TrendGroupWeekImage{AvailableMs: gw.availMs, InstalledMs: gw.instMs, CoveredMs: gw.coveredMs,
					ClosedMs: gw.closedMs, Min: gw.min, Max: gw.max, End: gw.end, EndCounted: gw.endCounted}
			}
		}
		if w.quiet != nil {
			ws.Quiet = make([]TrendTotals, len(w.quiet))
			for j, q := range w.quiet {
				ws.Quiet[j] = totalsImage(q)
			}
		}
		ws.Units = make([]TrendUnitWeekImage, len(w.units))
		for j, uw := range w.units {
			ws.Units[j] = TrendUnitWeekImage{Cell: uw.cell, Declarations: uw.decls, Expected: uw.expected}
		}
		s.Weeks[i] = ws
	}
	return s
}

func restoreTrends(s *TrendsImage, a *Availability) (*Trends, error) {
	t := &Trends{a: a, pos: s.Position, clock: s.Clock,
		units: make(map[*entry]*trendUnit, len(s.Units)), byID: make(map[string]*trendUnit, len(s.Units)),
		list: make([]*trendUnit, len(s.Units)), pools: make(map[*pool]*trendPool, len(s.Pools)),
		groups: make([]*trendGroup, len(s.Groups)), byKey: make(map[groupKey]int32, len(s.Groups))}
	ng := int32(len(s.Groups))
	inGroups := func(id int32) bool { return id >= 0 && id < ng }
	if ng == 0 || s.Groups[0].Department != "" || s.Groups[0].Type != "" {
		return nil, badImage("trends: the first group is not the region")
	}
	for i, gs := range s.Groups {
		k := groupKey{gs.Department, gs.Type}
		if _, dup := t.byKey[k]; dup {
			return nil, badImage("trends: group %q/%q is repeated", k.dept, k.typ)
		}
		if k.dept != "" && k.typ != "" {
			if gs.Cell[0] != int32(i) || gs.Cell[3] != 0 || !inGroups(gs.Cell[1]) || !inGroups(gs.Cell[2]) {
				return nil, badImage("trends: cell %s/%s has groups out of range", k.dept, k.typ)
			}
		}
		t.byKey[k] = int32(i)
		t.groups[i] = &trendGroup{key: k, cell: gs.Cell, groupTotals: gs.Totals.totals(), since: gs.Since}
	}
	isCell := func(id int32) bool { return inGroups(id) && t.groups[id].key.dept != "" && t.groups[id].key.typ != "" }
	if len(s.Units) != len(a.units) {
		return nil, badImage("trends: %d units, availability %d", len(s.Units), len(a.units))
	}
	for i, us := range s.Units {
		e := a.units[us.ID]
		if e == nil || t.byID[us.ID] != nil {
			return nil, badImage("trends: unit %q is unknown or repeated", us.ID)
		}
		if us.Cell != -1 && !isCell(us.Cell) || us.Cell == -1 && (us.Counted || us.Closed) {
			return nil, badImage("trends: unit %s is in no cell (%d)", us.ID, us.Cell)
		}
		u := &trendUnit{e: e, idx: int32(i), cell: us.Cell, counted: us.Counted, closed: us.Closed, avail: us.Available, inst: us.Installed}
		t.list[i], t.units[e], t.byID[us.ID] = u, u, u
	}
	if len(s.Pools) != len(a.pools) {
		return nil, badImage("trends: %d pools, availability %d", len(s.Pools), len(a.pools))
	}
	for _, ps := range s.Pools {
		p := a.pools[ps.ID]
		if p == nil || t.pools[p] != nil || slices.ContainsFunc(ps.Groups, func(id int32) bool { return !inGroups(id) }) {
			return nil, badImage("trends: pool %q is unknown, repeated or in groups out of range", ps.ID)
		}
		t.pools[p] = &trendPool{available: ps.Available, groups: slices.Clone(ps.Groups)}
	}
	for i, ws := range s.Weeks {
		last := i == len(s.Weeks)-1
		switch {
		case ws.Span < 1 || last && ws.Span != 1,
			len(ws.Quiet) != 0 && len(ws.Groups) != 0, ws.Span > 1 && len(ws.Groups) != 0,
			i > 0 && s.Weeks[i-1].N+s.Weeks[i-1].Span != ws.N,
			len(ws.Groups) > int(ng) || len(ws.Quiet) > int(ng) || len(ws.Units) > len(t.list),
			last && len(ws.Groups) != int(ng):
			return nil, badImage("trends: week record %d does not fit", i)
		}
		w := &trendWeek{n: ws.N, span: ws.Span, start: ws.Start, end: ws.End}
		if len(ws.Quiet) == 0 { // a week's record; a quiet run of one week has Span 1 too
			w.groups = make([]groupWeek, len(ws.Groups))
		}
		for j, gs := range ws.Groups {
			w.groups[j] = groupWeek{availMs: gs.AvailableMs, instMs: gs.InstalledMs, coveredMs: gs.CoveredMs, closedMs: gs.ClosedMs,
				min: gs.Min, max: gs.Max, end: gs.End, endCounted: gs.EndCounted}
		}
		if len(ws.Quiet) > 0 {
			w.quiet = make([]groupTotals, len(ws.Quiet))
			for j, q := range ws.Quiet {
				w.quiet[j] = q.totals()
			}
		}
		w.units = make([]unitWeek, len(ws.Units))
		for j, us := range ws.Units {
			if us.Cell != -1 && !isCell(us.Cell) {
				return nil, badImage("trends: week record %d puts unit %d in no cell", i, j)
			}
			w.units[j] = unitWeek{cell: us.Cell, decls: us.Declarations, expected: us.Expected}
		}
		t.weeks = append(t.weeks, w)
	}
	return t, nil
}
