package domain_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"dispo/domain"
)

var propSeed = flag.Uint64("seed", 0, "seed for TestDecideApplyProperties (0: fixed seeds plus one from the clock)")

// TestDecideApplyProperties drives random command sequences through Decide and
// Apply. After every command: the state's invariants hold, a refused command
// (or one deciding nothing) left the state as it was, Decide's answer is what
// a small independent model of the rules expects, and the folded state is
// the model's.
func TestDecideApplyProperties(t *testing.T) {
	seeds := []uint64{1, 2, 3, 20250311, uint64(time.Now().UnixNano())}
	if *propSeed != 0 {
		seeds = []uint64{*propSeed}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			for i := 0; i < 40; i++ {
				if !runSequence(t, seed+uint64(i)<<32, 250) {
					t.Logf("reproduce with: go test ./domain/ -run 'TestDecideApplyProperties' -seed=%d", seed)
					return
				}
			}
		})
	}
}

// model is an independent statement of the unit's rules.
type model struct {
	registered bool
	unit       domain.Unit
	decl       domain.AvailabilityDeclared
	declaredAt time.Time
	comment    string
	closure    *domain.Closure
	pool       string
	awaiting   bool // reopened, not declared since
	events     int64
}

func (m *model) snapshot() snapshot {
	s := snapshot{Registered: m.registered, Unit: m.unit, Declared: m.decl, LastDeclaredAt: m.declaredAt,
		Comment: m.comment, Pool: m.pool, Revision: m.events - 1, Available: m.decl.Available, Awaiting: m.awaiting}
	if m.closure != nil {
		s.Closed, s.Closure = true, *m.closure
	}
	return s
}

func validCounts(a, i, c int) bool {
	return a >= 0 && i >= 0 && c >= 0 && i <= domain.MaxCount && c <= i && a+c <= i
}

func validFreeText(s string, max int) bool {
	return strings.TrimSpace(s) != "" && domain.ValidText(s) && utf8.RuneCountInString(s) <= max
}

// expect returns the events the rules produce for cmd at now, or the code of
// the refusal.
func (m *model) expect(cmd domain.Command, now time.Time) ([]domain.Event, string) {
	if _, ok := cmd.(domain.RegisterUnit); !ok && !m.registered {
		return nil, domain.ENotFound
	}
	switch c := cmd.(type) {
	case domain.RegisterUnit:
		if m.registered {
			return nil, domain.EConflict
		}
		if c.Unit.Validate() != nil {
			return nil, domain.EInvalid
		}
		return []domain.Event{domain.UnitRegistered{Unit: c.Unit}}, ""
	case domain.ChangeUnitDetails:
		switch {
		case c.Unit.ID != m.unit.ID:
			return nil, domain.EInvalid
		case c.Unit == m.unit:
			return nil, ""
		case c.Unit.Validate() != nil:
			return nil, domain.EInvalid
		}
		return []domain.Event{domain.UnitDetailsChanged{Unit: c.Unit}}, ""
	case domain.DeclareAvailability:
		switch {
		case m.closure != nil:
			return nil, domain.EUnitClosed
		case !validCounts(c.Available, c.Installed, c.ClosedPlaces):
			return nil, domain.EInvalid
		}
		return []domain.Event{domain.AvailabilityDeclared{Available: c.Available, Installed: c.Installed, ClosedPlaces: c.ClosedPlaces}}, ""
	case domain.SetComment:
		if c.Text == "" {
			return m.expect(domain.ClearComment{}, now)
		}
		if !validFreeText(c.Text, domain.MaxCommentLen) {
			return nil, domain.EInvalid
		}
		return []domain.Event{domain.CommentSet(c)}, ""
	case domain.ClearComment:
		if m.comment == "" {
			return nil, ""
		}
		return []domain.Event{domain.CommentCleared{}}, ""
	case domain.CloseUnit:
		start := c.Start
		if start.IsZero() {
			start = now
		}
		switch {
		case !validFreeText(c.Reason, domain.MaxReasonLen):
			return nil, domain.EInvalid
		case !c.PlannedEnd.IsZero() && !c.PlannedEnd.After(start):
			return nil, domain.EInvalid
		case m.closure != nil:
			return nil, domain.EConflict
		}
		e := domain.UnitClosed{Reason: c.Reason, Start: start.UTC(), Reopenable: c.Reopenable}
		if !c.PlannedEnd.IsZero() {
			e.PlannedEnd = c.PlannedEnd.UTC()
		}
		return []domain.Event{e}, ""
	case domain.ReopenUnit:
		if m.closure == nil || !m.closure.Reopenable {
			return nil, domain.EConflict
		}
		return []domain.Event{domain.UnitReopened{}}, ""
	case domain.PoolUnit:
		switch {
		case !domain.ValidUnitID(c.Pool):
			return nil, domain.EInvalid
		case c.Pool == m.pool:
			return nil, domain.EConflict
		}
		return []domain.Event{domain.UnitPooled(c)}, ""
	case domain.UnpoolUnit:
		if m.pool == "" {
			return nil, domain.EConflict
		}
		return []domain.Event{domain.UnitUnpooled{}}, ""
	}
	panic(fmt.Sprintf("model: unknown command %T", cmd))
}

func (m *model) apply(e domain.Event, at time.Time) {
	m.events++
	switch e := e.(type) {
	case domain.UnitRegistered:
		m.registered, m.unit = true, e.Unit
	case domain.UnitDetailsChanged:
		m.unit = e.Unit
	case domain.AvailabilityDeclared:
		m.decl, m.declaredAt, m.awaiting = e, at, false
	case domain.CommentSet:
		m.comment = e.Text
	case domain.CommentCleared:
		m.comment = ""
	case domain.UnitClosed:
		m.closure = &domain.Closure{Reason: e.Reason, Start: e.Start, PlannedEnd: e.PlannedEnd, Reopenable: e.Reopenable}
	case domain.UnitReopened:
		m.closure, m.awaiting = nil, true
	case domain.UnitPooled:
		m.pool = e.Pool
	case domain.UnitUnpooled:
		m.pool = ""
	}
}

// randomCommand draws a command, valid or not, from small sets of values so
// that conflicts and repeats are frequent.
func randomCommand(r *rand.Rand, now time.Time) domain.Command {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	count := func() int {
		if r.IntN(20) == 0 {
			return []int{-1, -100, domain.MaxCount, domain.MaxCount + 1}[r.IntN(4)]
		}
		return r.IntN(25)
	}
	at := func() time.Time {
		switch r.IntN(5) {
		case 0:
			return time.Time{}
		case 1:
			return now.In(paris)
		}
		return now.Add(time.Duration(r.IntN(200)-100) * time.Hour)
	}
	unit := func() domain.Unit {
		u := validUnit()
		switch r.IntN(6) {
		case 0:
			u.Name = pick("Centre lourd", "UDM", "Autodialyse")
		case 1:
			u.Phone = pick("", "01 23", "x")
		case 2:
			u.Department = pick("75", "20", "2A")
		case 3:
			u.ID = pick("77-EG-02", "bad id")
		}
		return u
	}
	text := func() string {
		return pick("", "1 place le 11/03 à 10h", "complet", "  ", "a\nb", "caf\xe9", rep("é", 500), rep("é", 501))
	}
	switch r.IntN(10) {
	case 0:
		return domain.RegisterUnit{Unit: unit()}
	case 1:
		return domain.ChangeUnitDetails{Unit: unit()}
	case 2, 3:
		return domain.DeclareAvailability{Available: count(), Installed: count(), ClosedPlaces: count()}
	case 4:
		return domain.SetComment{Text: text()}
	case 5:
		return domain.ClearComment{}
	case 6:
		return domain.CloseUnit{Reason: text(), Start: at(), PlannedEnd: at(), Reopenable: r.IntN(3) > 0}
	case 7:
		return domain.ReopenUnit{}
	case 8:
		return domain.PoolUnit{Pool: pick("P1", "P2", "", "pool 1")}
	}
	return domain.UnpoolUnit{}
}

// runSequence plays n random commands from seed, reporting the first
// violation (with the seed and the step) and returning false on failure.
func runSequence(t *testing.T, seed uint64, n int) bool {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var s *domain.UnitState // nil until the first event: Decide takes it as a missing unit
	m := &model{}
	now := t0
	type played struct {
		cmd domain.Command
		evs []domain.Event
		err error
	}
	var history []played
	fail := func(format string, args ...any) bool {
		t.Helper()
		var b strings.Builder
		for _, p := range history {
			fmt.Fprintf(&b, "\n  %#v -> %v, %v", p.cmd, p.evs, p.err)
		}
		t.Errorf("seed %d, step %d: %s\nhistory:%s", seed, len(history), fmt.Sprintf(format, args...), b.String())
		return false
	}
	for step := 0; step < n; step++ {
		now = now.Add(time.Duration(r.IntN(180)) * time.Minute)
		cmd := randomCommand(r, now)
		if s == nil && r.IntN(4) == 0 {
			cmd = domain.RegisterUnit{Unit: validUnit()}
		}
		var before snapshot
		if s != nil {
			before = snap(s)
		}
		evs, err := domain.Decide(s, cmd, now)
		history = append(history, played{cmd, evs, err})
		if err != nil && evs != nil {
			return fail("events %v and error %v", evs, err)
		}
		checkDecision(t, evs, err)
		wantEvs, wantCode := m.expect(cmd, now)
		if got := domain.ErrorCode(err); got != wantCode {
			return fail("error %v (code %q), want code %q", err, got, wantCode)
		}
		if !reflect.DeepEqual(evs, wantEvs) {
			return fail("events %#v, want %#v", evs, wantEvs)
		}
		if s == nil {
			if err != nil || len(evs) == 0 {
				continue
			}
			s = &domain.UnitState{}
			before = snap(s)
		}
		if after := snap(s); !reflect.DeepEqual(after, before) {
			return fail("Decide changed the state:\n got %+v\nwant %+v", after, before)
		}
		for _, e := range evs {
			s.Apply(&domain.Envelope{Event: e, RecordedAt: now})
			m.apply(e, now)
		}
		got := snap(s)
		if err != nil || len(evs) == 0 {
			if !reflect.DeepEqual(got, before) {
				return fail("a refused or empty decision changed the state:\n got %+v\nwant %+v", got, before)
			}
		}
		if want := m.snapshot(); !reflect.DeepEqual(got, want) {
			return fail("state after apply:\n got %+v\nwant %+v", got, want)
		}
		d := s.Declared()
		switch {
		case d.Available < 0 || d.Installed < 0 || d.ClosedPlaces < 0:
			return fail("negative count: %+v", d)
		case d.ClosedPlaces > d.Installed:
			return fail("closed > installed: %+v", d)
		case s.Declared().Available < 0 || s.Declared().Available > d.Installed-d.ClosedPlaces:
			return fail("Available() = %d outside 0..%d", s.Declared().Available, d.Installed-d.ClosedPlaces)
		}
	}
	return !t.Failed()
}
