package projections

import (
	"cmp"
	"slices"
	"time"

	"dispo/domain"
)

// Availability is the fold every view of this package is derived from: the
// current state of each unit, the pools, and the checkpoint.
//
// It is not safe for concurrent use. Apply must not run concurrently with
// anything; the views (Unit, Units, Matrix, Detail, Freshness, Position) only
// read, so a sync.RWMutex is enough to share an Availability.
type Availability struct {
	pos   uint64            // checkpoint: position of the last applied envelope
	seq   uint64            // applied unit events, orders declarations inside pools
	units map[string]*entry // every unit seen, registered or not
	pools map[string]*pool  // pools with at least one member
	// listed holds the registered units sorted by department, establishment
	// and unit id, kept sorted at registration and details changes (rare) so
	// that views never sort and never write.
	listed []*entry
}

// entry is one unit of the fold.
type entry struct {
	id     string
	rec    unitRecord
	pool   *pool // nil when not pooled
	listed bool  // in Availability.listed
	// The sort key the unit is listed under (its department and
	// establishment when it was last listed).
	dept, est string
	// declSeq orders the unit's last declaration among the pool's members
	// (Availability.seq when it was folded); 0: never declared.
	declSeq uint64
}

// pool is a set of units sharing one available count.
type pool struct {
	id        string
	members   []*entry
	available int       // the available count of the newest declaration of a member
	seq       uint64    // that declaration's sequence, 0 if no member ever declared
	updated   time.Time // recorded-at of the last event of a member, one leaving included
}

// NewAvailability returns an empty fold, at position 0.
func NewAvailability() *Availability {
	return &Availability{
		units: make(map[string]*entry),
		pools: make(map[string]*pool),
	}
}

// Position is the checkpoint: the position of the last applied envelope, 0
// before any. A subscriber resumes reading after it.
func (a *Availability) Position() uint64 { return a.pos }

// Apply folds one envelope. Events of streams that are not unit streams are
// ignored but advance the position. An envelope at or before a non-zero
// checkpoint is a redelivery and is ignored, so resuming from a slightly
// stale position is harmless. Envelopes must come in position order.
func (a *Availability) Apply(env *domain.Envelope) {
	if env == nil || a.pos != 0 && env.Position <= a.pos {
		return
	}
	a.pos = env.Position
	id, ok := domain.UnitIDFromStream(env.Stream)
	if !ok {
		return
	}
	a.seq++
	e := a.units[id]
	if e == nil {
		e = &entry{id: id}
		a.units[id] = e
	}
	e.rec.apply(env)
	if p := e.pool; p != nil {
		p.updated = env.RecordedAt // the pool it leaves, if it does, changes too
	}
	switch ev := env.Event.(type) {
	case domain.AvailabilityDeclared:
		// The hot path: no allocation, no formatting.
		a.declared(e, ev.Available)
	case domain.AvailabilityCorrected:
		if p := e.pool; p != nil && e.declSeq != 0 && p.seq == e.declSeq {
			p.available = ev.Available // the pool's count was the one corrected
		}
	case domain.UnitRegistered, domain.UnitDetailsChanged:
		u := e.rec.unit
		if e.listed && e.dept == u.Department && e.est == u.Establishment {
			break // still in its place
		}
		if e.listed {
			a.unlist(e)
		}
		if e.rec.registered && !e.rec.retired {
			e.dept, e.est = u.Department, u.Establishment
			a.list(e)
		}
	case domain.UnitPooled:
		a.leave(e)
		a.join(e, ev.Pool)
		e.pool.updated = env.RecordedAt
	case domain.UnitUnpooled:
		a.leave(e)
	case domain.UnitRetired:
		// It leaves every list and total; Unit still renders it.
		a.leave(e)
		if e.listed {
			a.unlist(e)
		}
	}
}

// declared records e's declaration of available places, the pool's count
// when e is pooled.
func (a *Availability) declared(e *entry, available int) {
	e.declSeq = a.seq
	if p := e.pool; p != nil {
		p.available, p.seq = available, a.seq
	}
}

// join puts e in pool id. A member brings its last declaration along: the
// pool's count is the newest declaration among its current members.
func (a *Availability) join(e *entry, id string) {
	p := a.pools[id]
	if p == nil {
		p = &pool{id: id}
		a.pools[id] = p
	}
	p.members = append(p.members, e)
	e.pool = p
	if e.declSeq > p.seq {
		p.available, p.seq = e.rec.available, e.declSeq
	}
}

// leave takes e out of its pool, if any. If e made the pool's count, the
// count falls back to the newest declaration of the remaining members.
func (a *Availability) leave(e *entry) {
	p := e.pool
	if p == nil {
		return
	}
	e.pool = nil
	i := slices.Index(p.members, e)
	p.members = slices.Delete(p.members, i, i+1)
	if len(p.members) == 0 {
		delete(a.pools, p.id)
		return
	}
	if e.declSeq == 0 || e.declSeq != p.seq {
		return
	}
	p.available, p.seq = 0, 0
	for _, m := range p.members {
		if m.declSeq > p.seq {
			p.available, p.seq = m.rec.available, m.declSeq
		}
	}
}

func compareEntries(x, y *entry) int {
	return cmp.Or(cmp.Compare(x.dept, y.dept), cmp.Compare(x.est, y.est), cmp.Compare(x.id, y.id))
}

func (a *Availability) list(e *entry) {
	i, _ := slices.BinarySearchFunc(a.listed, e, compareEntries)
	a.listed = slices.Insert(a.listed, i, e)
	e.listed = true
}

func (a *Availability) unlist(e *entry) {
	i, found := slices.BinarySearchFunc(a.listed, e, compareEntries)
	if !found || a.listed[i] != e {
		panic("projections: sorted unit list out of order") // a bug, not a bad event
	}
	a.listed = slices.Delete(a.listed, i, i+1)
	e.listed = false
}

// available is the one rule of what a unit shows as available:
//
//   - 0 while the unit is closed (the national ROR rule: a closed service
//     shows no place) or retired;
//   - the pool's count when pooled (see the package doc): the places are
//     the pool's, declared by whichever member declared last;
//   - 0 once reopened until it declares again: its last figures say what
//     was true before the closure, and a clinician must not take them for
//     today's;
//   - its last declaration, as corrected, otherwise.
func (e *entry) available() int {
	switch {
	case e.rec.closed, e.rec.retired:
		return 0
	case e.pool != nil:
		return e.pool.available
	case e.rec.awaiting:
		return 0
	}
	return e.rec.available
}

// shares reports whether e's available places are its pool's: counted once
// per total, not per member.
func (e *entry) shares() bool { return e.pool != nil && !e.rec.closed }

// share is what one unit adds to a total — a matrix cell, a trends group —
// by the read model's rules. Matrix and Trends read units through it only,
// so that a total means the same in both.
type share struct {
	unit        domain.Unit
	inDirectory bool // registered and not retired: in the lists and totals
	declared    bool // declared at least once
	installed   int
	// available is the unit's own figure, 0 when it is its pool's: a pool's
	// count is added once per total, by whoever sums over pools.
	available  int
	shared     bool
	unitClosed bool
}

func (e *entry) share() share {
	s := share{unit: e.rec.unit, inDirectory: e.rec.registered && !e.rec.retired, declared: e.declSeq != 0,
		installed: e.rec.installed, shared: e.shares(), unitClosed: e.rec.closed}
	if !s.shared {
		s.available = e.available()
	}
	return s
}

// size counts the entries the fold holds, for the test that state grows
// with units and not with events.
func (a *Availability) size() int {
	n := len(a.units) + len(a.pools) + len(a.listed)
	for _, p := range a.pools {
		n += len(p.members)
	}
	return n
}
