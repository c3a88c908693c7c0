package fixturegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"dispo/domain"
)

// unitGen is one unit's generator: what the unit is, what it has declared,
// and what it will do next. Units act independently, each from its own
// random stream; the pool is the only state they share.
type unitGen struct {
	idx    int
	unit   domain.Unit
	est    *establishment
	rng    *rand.Rand
	rate   int // declarations a week, 1 to 7
	office office

	installed, closed, free int // what it last declared (free: its own count)
	usuallyFree             int
	comment                 bool
	pool                    *pool
	registered              bool
	revision                uint64    // of the unit's stream's next event
	due                     time.Time // when the unit acts next: nextAt, kept for the queue

	next      time.Time // next declaration; zero while closed or when there is none
	agenda    []action  // special actions, in time order
	lapseFrom time.Time // no declaration in [lapseFrom, lapseTo): a missed obligation
	lapseTo   time.Time // zero: the lapse never ends
}

type actionKind int

const (
	actPool actionKind = iota
	actUnpool
	actClose
	actReopen
	actDetails
)

// action is a special event planned for a unit.
type action struct {
	at      time.Time
	kind    actionKind
	pool    *pool
	closure domain.UnitClosed
	unit    domain.Unit
	corr    string // shared with other units' actions; "" for a fresh one
}

// group is what a unit does at one instant: one request, one or more events.
type group struct {
	at     time.Time
	actor  domain.Actor
	source domain.Source
	corr   string // "" for a fresh correlation id
	events []domain.Event
}

// pool is the places several units share: they all declare its count.
type pool struct {
	id      string
	members []*unitGen
	free    int
}

func newUnitGen(r *rand.Rand, e *establishment, u domain.Unit) *unitGen {
	p := profiles[u.Type]
	g := &unitGen{
		unit:        u,
		est:         e,
		rate:        pick(r, rateWeights),
		installed:   between(r, p.minInstalled, p.maxInstalled),
		usuallyFree: between(r, 0, p.maxUsuallyFree),
	}
	g.office.saturday = g.rate >= 6 || r.IntN(100) < p.saturday
	g.office.sunday = g.rate == 7
	g.free = min(g.usuallyFree, g.installed)
	return g
}

// nextAt returns when the unit acts next, once registered; false when it
// never does again.
func (u *unitGen) nextAt() (time.Time, bool) {
	t := u.next
	if len(u.agenda) > 0 && (t.IsZero() || !u.agenda[0].at.After(t)) {
		t = u.agenda[0].at
	}
	return t, !t.IsZero()
}

// step performs the unit's next action, at the instant nextAt gave.
func (u *unitGen) step(at time.Time, importCorr string) group {
	if !u.registered {
		u.registered = true
		u.next = u.firstDeclaration(at)
		return group{at: at, actor: admin, source: domain.SourceImport, corr: importCorr,
			events: []domain.Event{domain.UnitRegistered{Unit: u.unit}}}
	}
	if len(u.agenda) == 0 || u.agenda[0].at.After(at) {
		return u.declare(at)
	}
	a := u.agenda[0]
	u.agenda = u.agenda[1:]
	switch a.kind {
	case actPool:
		u.pool = a.pool
		a.pool.members = append(a.pool.members, u)
		a.pool.free = min(a.pool.free, u.capacity())
		return group{at: at, actor: admin, source: domain.SourceManual, corr: a.corr,
			events: []domain.Event{domain.UnitPooled{Pool: a.pool.id}}}
	case actUnpool:
		if u.pool != nil {
			u.pool.leave(u)
			u.pool = nil
		}
		return group{at: at, actor: admin, source: domain.SourceManual, corr: a.corr,
			events: []domain.Event{domain.UnitUnpooled{}}}
	case actDetails:
		u.unit = a.unit
		return group{at: at, actor: admin, source: domain.SourceManual,
			events: []domain.Event{domain.UnitDetailsChanged{Unit: a.unit}}}
	case actClose:
		u.next = time.Time{} // saisie bloquée: nothing until the reopening, if any
		return group{at: at, actor: u.declarant(), source: u.est.source, events: []domain.Event{a.closure}}
	case actReopen:
		// Reopening is one request with the counts the unit starts again with,
		// so that it is never open without a declaration of the day.
		g := u.declare(at)
		g.events = append([]domain.Event{domain.UnitReopened{}}, g.events...)
		return g
	}
	return group{} // unreachable: every kind is handled above
}

// declare is a "Mise à jour": the counts, and maybe the comment with them.
func (u *unitGen) declare(at time.Time) group {
	u.evolve()
	free := u.free
	if u.pool != nil {
		free = u.pool.declare(u.rng)
	}
	events := []domain.Event{domain.AvailabilityDeclared{Available: free, Installed: u.installed, ClosedPlaces: u.closed}}
	switch r := u.rng.Float64(); {
	case !u.comment && r < 0.07, u.comment && r < 0.05:
		u.comment = true
		events = append(events, domain.CommentSet{Text: u.commentText(at, free)})
	case u.comment && r < 0.35:
		u.comment = false
		events = append(events, domain.CommentCleared{})
	}
	u.next = u.nextDeclaration(at)
	return group{at: at, actor: u.declarant(), source: u.est.source, events: events}
}

// evolve moves the unit's counts as a week of dialysis does: places free
// up and fill, a generator breaks down and is repaired, rarely a place is
// added or removed.
func (u *unitGen) evolve() {
	r := u.rng
	if r.IntN(250) == 0 {
		u.installed = max(2, u.installed+[]int{-2, -1, 1, 2}[r.IntN(4)])
	}
	switch {
	case u.closed == 0 && r.IntN(100) < 3:
		u.closed = between(r, 1, max(1, min(3, u.installed/4)))
	case u.closed > 0 && r.IntN(100) < 30:
		u.closed = 0
	}
	u.closed = min(u.closed, u.installed)
	if r.IntN(40) == 0 {
		u.usuallyFree = between(r, 0, profiles[u.unit.Type].maxUsuallyFree)
	}
	u.free = walk(r, u.free, u.usuallyFree, u.capacity())
}

// walk returns n moved a step at random, drawn towards target, within [0, hi].
func walk(r *rand.Rand, n, target, hi int) int {
	switch x := r.Float64(); {
	case n < target && x < 0.4:
		n++
	case n > target && x < 0.4:
		n--
	case x < 0.55:
		n++
	case x < 0.7:
		n--
	}
	return max(0, min(n, hi))
}

func (u *unitGen) capacity() int { return u.installed - u.closed }

func (u *unitGen) declarant() domain.Actor {
	d := u.est.declarants
	return d[u.rng.IntN(len(d))]
}

func (u *unitGen) commentText(at time.Time, free int) string {
	r := u.rng
	for {
		c := commentFormats[r.IntN(len(commentFormats))]
		if c.free > 0 && free == 0 || c.free < 0 && free > 0 {
			continue
		}
		places := "1 place"
		if free > 1 {
			places = fmt.Sprintf("%d places", free)
		}
		return strings.NewReplacer(
			"{places}", places,
			"{date}", midnight(at, between(r, 1, 4)).Format("02/01"),
			"{hour}", strconv.Itoa([]int{7, 8, 12, 13, 14}[r.IntN(5)]),
		).Replace(c.format)
	}
}

// firstDeclaration follows the registration, on its day or the next
// working one.
func (u *unitGen) firstDeclaration(registered time.Time) time.Time {
	day := midnight(registered, u.rng.IntN(2))
	for !u.office.works(day) {
		day = midnight(day, 1)
	}
	t := clock(u.rng, day)
	for !t.After(registered) { // registration is before office hours; be sure anyway
		t = t.Add(time.Hour)
	}
	return u.lapse(t)
}

// nextDeclaration picks the day of the next declaration 1 to 6 days after
// prev's, about 7/rate days on average, on a day the declarant works: so two
// declarations are always less than 7 days apart, unless a lapse intervenes.
func (u *unitGen) nextDeclaration(prev time.Time) time.Time {
	r := u.rng
	d := int(math.Round(7 / float64(u.rate) * (0.6 + 0.8*r.Float64())))
	d = max(1, min(d, 6))
	day := -1
	for k := d; k >= 1; k-- { // back to a working day...
		if u.office.works(midnight(prev, k)) {
			day = k
			break
		}
	}
	for k := d + 1; day < 0; k++ { // ...or on to the next one
		if u.office.works(midnight(prev, k)) {
			day = k
		}
	}
	return u.lapse(clock(r, midnight(prev, day)))
}

// lapse moves t out of the unit's lapse, if it falls in it: to the first
// working day after it, or to never.
func (u *unitGen) lapse(t time.Time) time.Time {
	if u.lapseFrom.IsZero() || t.Before(u.lapseFrom) || !u.lapseTo.IsZero() && !t.Before(u.lapseTo) {
		return t
	}
	if u.lapseTo.IsZero() {
		return time.Time{}
	}
	day := u.lapseTo
	for !u.office.works(day) {
		day = midnight(day, 1)
	}
	return clock(u.rng, day)
}

// declare returns the pool's count after a step, within what every member
// can hold.
func (p *pool) declare(r *rand.Rand) int {
	hi := math.MaxInt
	for _, m := range p.members {
		hi = min(hi, m.capacity())
	}
	p.free = walk(r, p.free, 1, hi)
	return p.free
}

func (p *pool) leave(u *unitGen) {
	for i, m := range p.members {
		if m == u {
			p.members = append(p.members[:i], p.members[i+1:]...)
			return
		}
	}
}
