package domain_test

import (
	"reflect"
	"testing"
	"time"

	"dispo/domain"
)

// decideCase is one command decided on a state built from given commands.
type decideCase struct {
	name  string
	given []domain.Command // after RegisterUnit(validUnit()) unless unregistered
	unreg bool             // start from a unit that does not exist
	cmd   domain.Command
	now   time.Time // t0 when zero
	want  []domain.Event
	code  string // "" when the command is accepted
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *domain.UnitState
			if tt.unreg {
				s = given(t, tt.given...)
			} else {
				s = registered(t, tt.given...)
			}
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			before := snap(s)
			got, err := domain.Decide(s, tt.cmd, now)
			checkDecision(t, got, err)
			if after := snap(s); !reflect.DeepEqual(after, before) {
				t.Errorf("Decide changed the state:\n got %+v\nwant %+v", after, before)
			}
			wantCode(t, err, tt.code)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// checkDecision checks what every decision must satisfy: never events and an
// error together, errors are domain errors, events are valid, storable and in UTC.
func checkDecision(tb testing.TB, evs []domain.Event, err error) {
	tb.Helper()
	if err != nil {
		if evs != nil {
			tb.Errorf("Decide returned events %#v and error %v", evs, err)
		}
		if code := domain.ErrorCode(err); code == domain.EInternal {
			tb.Errorf("Decide returned a foreign error %v", err)
		}
		return
	}
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			tb.Errorf("Decide returned invalid event %#v: %v", e, err)
		}
		if c, ok := e.(domain.UnitClosed); ok {
			if c.Start.Location() != time.UTC || !c.PlannedEnd.IsZero() && c.PlannedEnd.Location() != time.UTC {
				tb.Errorf("closure times not in UTC: %v, %v", c.Start, c.PlannedEnd)
			}
			if c.PlannedEnd.IsZero() && c.PlannedEnd != (time.Time{}) {
				tb.Errorf("no planned end written as %#v, not the zero time", c.PlannedEnd)
			}
		}
		data, err := domain.EncodeEvent(e)
		if err != nil {
			tb.Errorf("EncodeEvent(%#v): %v", e, err)
			continue
		}
		back, err := domain.DecodeEvent(e.EventType(), domain.CurrentSchema(e.EventType()), data)
		if err != nil || !reflect.DeepEqual(back, e) {
			tb.Errorf("event %#v reads back as %#v, %v", e, back, err)
		}
	}
}

func TestDecideUnknownUnit(t *testing.T) {
	cmds := []domain.Command{
		domain.ChangeUnitDetails{Unit: validUnit()},
		domain.DeclareAvailability{Available: 1, Installed: 2},
		domain.DeclareAvailability{Available: -1},
		domain.SetComment{Text: "x"},
		domain.SetComment{},
		domain.ClearComment{},
		domain.CloseUnit{Reason: "travaux"},
		domain.ReopenUnit{},
		domain.PoolUnit{Pool: "P1"},
		domain.UnpoolUnit{},
	}
	for _, c := range cmds {
		for _, s := range []*domain.UnitState{nil, {}} {
			evs, err := domain.Decide(s, c, t0)
			checkDecision(t, evs, err)
			if domain.ErrorCode(err) != domain.ENotFound {
				t.Errorf("Decide(%v, %#v) = %v, %v; want code %q", s, c, evs, err, domain.ENotFound)
			}
		}
	}
	// Odd streams fold to a state that is still not registered.
	s := &domain.UnitState{}
	applyAll(s, t0, domain.AvailabilityDeclared{Installed: 3}, domain.UnitDetailsChanged{Unit: validUnit()})
	_, err := domain.Decide(s, domain.DeclareAvailability{Installed: 3}, t0)
	wantCode(t, err, domain.ENotFound)
}

func TestDecideNilCommand(t *testing.T) {
	for _, s := range []*domain.UnitState{nil, {}, registered(t)} {
		evs, err := domain.Decide(s, nil, t0)
		checkDecision(t, evs, err)
		wantCode(t, err, domain.EInvalid)
	}
}

// TestDecidePointerCommands: the commands are values; a pointer to one
// (nil or not) is no command of the domain's and is refused, not unwrapped,
// and never panics.
func TestDecidePointerCommands(t *testing.T) {
	s := registered(t)
	cmds := []domain.Command{&domain.RegisterUnit{Unit: validUnit()}, &domain.DeclareAvailability{Available: 1, Installed: 2},
		(*domain.RegisterUnit)(nil), (*domain.SetComment)(nil), (*domain.ReopenUnit)(nil), (*domain.CloseUnit)(nil)}
	for _, c := range cmds {
		for _, st := range []*domain.UnitState{nil, s} {
			evs, err := domain.Decide(st, c, t0)
			checkDecision(t, evs, err)
			wantCode(t, err, domain.EInvalid)
		}
	}
}

func TestDecideRegister(t *testing.T) {
	bad := validUnit()
	bad.Department = "20"
	other := validUnit()
	other.ID = "77-EG-02"
	runDecide(t, []decideCase{
		{name: "register", unreg: true, cmd: domain.RegisterUnit{Unit: validUnit()}, want: []domain.Event{domain.UnitRegistered{Unit: validUnit()}}},
		{name: "register invalid", unreg: true, cmd: domain.RegisterUnit{Unit: bad}, code: domain.EInvalid},
		{name: "register empty", unreg: true, cmd: domain.RegisterUnit{}, code: domain.EInvalid},
		{name: "register twice", cmd: domain.RegisterUnit{Unit: validUnit()}, code: domain.EConflict},
		{name: "register another id on the stream", cmd: domain.RegisterUnit{Unit: other}, code: domain.EConflict},
		{name: "register invalid twice", cmd: domain.RegisterUnit{Unit: bad}, code: domain.EConflict},
	})
	// Decide on a nil state is Decide on a unit that does not exist.
	evs, err := domain.Decide(nil, domain.RegisterUnit{Unit: validUnit()}, t0)
	if err != nil || !reflect.DeepEqual(evs, []domain.Event{domain.UnitRegistered{Unit: validUnit()}}) {
		t.Errorf("Decide(nil, RegisterUnit) = %#v, %v", evs, err)
	}
}

func TestDecideChangeDetails(t *testing.T) {
	renamed := validUnit()
	renamed.Name = "Unité de dialyse médicalisée"
	renamed.Phone = ""
	moved := validUnit()
	moved.ID = "77-EG-02"
	bad := validUnit()
	bad.Type = "hémodialyse"
	runDecide(t, []decideCase{
		{name: "change", cmd: domain.ChangeUnitDetails{Unit: renamed}, want: []domain.Event{domain.UnitDetailsChanged{Unit: renamed}}},
		{name: "nothing changes", cmd: domain.ChangeUnitDetails{Unit: validUnit()}},
		{name: "back to the same", given: []domain.Command{domain.ChangeUnitDetails{Unit: renamed}}, cmd: domain.ChangeUnitDetails{Unit: renamed}},
		{name: "change back", given: []domain.Command{domain.ChangeUnitDetails{Unit: renamed}}, cmd: domain.ChangeUnitDetails{Unit: validUnit()},
			want: []domain.Event{domain.UnitDetailsChanged{Unit: validUnit()}}},
		{name: "id cannot change", cmd: domain.ChangeUnitDetails{Unit: moved}, code: domain.EInvalid},
		{name: "empty", cmd: domain.ChangeUnitDetails{}, code: domain.EInvalid},
		{name: "invalid", cmd: domain.ChangeUnitDetails{Unit: bad}, code: domain.EInvalid},
		{name: "while closed", given: []domain.Command{domain.CloseUnit{Reason: "travaux"}}, cmd: domain.ChangeUnitDetails{Unit: renamed},
			want: []domain.Event{domain.UnitDetailsChanged{Unit: renamed}}},
	})
}

func TestDecideDeclare(t *testing.T) {
	closed := []domain.Command{domain.CloseUnit{Reason: "travaux", Reopenable: true}}
	runDecide(t, []decideCase{
		{name: "declare", cmd: domain.DeclareAvailability{Available: 1, Installed: 18}, want: []domain.Event{domain.AvailabilityDeclared{Available: 1, Installed: 18}}},
		{name: "all zero", cmd: domain.DeclareAvailability{}, want: []domain.Event{domain.AvailabilityDeclared{}}},
		{name: "available == installed - closed", cmd: domain.DeclareAvailability{Available: 5, Installed: 20, ClosedPlaces: 15},
			want: []domain.Event{domain.AvailabilityDeclared{Available: 5, Installed: 20, ClosedPlaces: 15}}},
		{name: "closed == installed", cmd: domain.DeclareAvailability{Installed: 20, ClosedPlaces: 20},
			want: []domain.Event{domain.AvailabilityDeclared{Installed: 20, ClosedPlaces: 20}}},
		{name: "same again (weekly obligation)", given: []domain.Command{domain.DeclareAvailability{Available: 1, Installed: 2}},
			cmd: domain.DeclareAvailability{Available: 1, Installed: 2}, want: []domain.Event{domain.AvailabilityDeclared{Available: 1, Installed: 2}}},
		{name: "negative available", cmd: domain.DeclareAvailability{Available: -1, Installed: 2}, code: domain.EInvalid},
		{name: "negative installed", cmd: domain.DeclareAvailability{Installed: -2}, code: domain.EInvalid},
		{name: "negative closed", cmd: domain.DeclareAvailability{Installed: 2, ClosedPlaces: -1}, code: domain.EInvalid},
		{name: "closed > installed", cmd: domain.DeclareAvailability{Installed: 2, ClosedPlaces: 3}, code: domain.EInvalid},
		{name: "available > installed - closed", cmd: domain.DeclareAvailability{Available: 6, Installed: 20, ClosedPlaces: 15}, code: domain.EInvalid},
		{name: "above MaxCount", cmd: domain.DeclareAvailability{Installed: domain.MaxCount + 1}, code: domain.EInvalid},
		{name: "on a closed unit", given: closed, cmd: domain.DeclareAvailability{Available: 1, Installed: 2}, code: domain.EUnitClosed},
		{name: "invalid on a closed unit", given: closed, cmd: domain.DeclareAvailability{Available: -1}, code: domain.EUnitClosed},
		{name: "after reopening", given: append(closed, domain.ReopenUnit{}), cmd: domain.DeclareAvailability{Available: 1, Installed: 2},
			want: []domain.Event{domain.AvailabilityDeclared{Available: 1, Installed: 2}}},
		{name: "pooled", given: []domain.Command{domain.PoolUnit{Pool: "P1"}}, cmd: domain.DeclareAvailability{Available: 1, Installed: 2},
			want: []domain.Event{domain.AvailabilityDeclared{Available: 1, Installed: 2}}},
	})
	if domain.EUnitClosed != "unit_closed" {
		t.Errorf("EUnitClosed = %q", domain.EUnitClosed)
	}
}

func TestDecideComment(t *testing.T) {
	withComment := []domain.Command{domain.SetComment{Text: "1 place le 11/03 à 10h"}}
	runDecide(t, []decideCase{
		{name: "set", cmd: domain.SetComment{Text: "1 place le 11/03 à 10h"}, want: []domain.Event{domain.CommentSet{Text: "1 place le 11/03 à 10h"}}},
		{name: "replace", given: withComment, cmd: domain.SetComment{Text: "complet"}, want: []domain.Event{domain.CommentSet{Text: "complet"}}},
		{name: "500 é", cmd: domain.SetComment{Text: rep("é", 500)}, want: []domain.Event{domain.CommentSet{Text: rep("é", 500)}}},
		{name: "501 é", cmd: domain.SetComment{Text: rep("é", 501)}, code: domain.EInvalid},
		{name: "control", cmd: domain.SetComment{Text: "a\nb"}, code: domain.EInvalid},
		{name: "invalid utf8", cmd: domain.SetComment{Text: "caf\xe9"}, code: domain.EInvalid},
		{name: "blank", cmd: domain.SetComment{Text: "   "}, code: domain.EInvalid},
		{name: "set empty clears", given: withComment, cmd: domain.SetComment{}, want: []domain.Event{domain.CommentCleared{}}},
		{name: "set empty without comment", cmd: domain.SetComment{}},
		{name: "clear", given: withComment, cmd: domain.ClearComment{}, want: []domain.Event{domain.CommentCleared{}}},
		{name: "clear without comment", cmd: domain.ClearComment{}},
		{name: "clear after clear", given: append(withComment, domain.ClearComment{}), cmd: domain.ClearComment{}},
		{name: "on a closed unit", given: []domain.Command{domain.CloseUnit{Reason: "travaux"}}, cmd: domain.SetComment{Text: "réouverture lundi"},
			want: []domain.Event{domain.CommentSet{Text: "réouverture lundi"}}},
	})
}

func TestDecideClose(t *testing.T) {
	later := t0.Add(48 * time.Hour)
	closed := []domain.Command{domain.CloseUnit{Reason: "travaux", Reopenable: true}}
	y10000 := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	lastOf9999 := time.Date(9999, 12, 31, 23, 30, 0, 0, time.UTC)
	runDecide(t, []decideCase{
		{name: "start defaults to now", cmd: domain.CloseUnit{Reason: "travaux"},
			want: []domain.Event{domain.UnitClosed{Reason: "travaux", Start: t0}}},
		{name: "now in another zone comes out in UTC", cmd: domain.CloseUnit{Reason: "travaux", Reopenable: true}, now: t0.In(paris),
			want: []domain.Event{domain.UnitClosed{Reason: "travaux", Start: t0, Reopenable: true}}},
		{name: "given start and end in another zone", cmd: domain.CloseUnit{Reason: "travaux", Start: later.In(paris), PlannedEnd: later.Add(time.Hour).In(paris)},
			want: []domain.Event{domain.UnitClosed{Reason: "travaux", Start: later, PlannedEnd: later.Add(time.Hour)}}},
		{name: "start in the past", cmd: domain.CloseUnit{Reason: "travaux", Start: t0.Add(-time.Hour)},
			want: []domain.Event{domain.UnitClosed{Reason: "travaux", Start: t0.Add(-time.Hour)}}},
		{name: "planned end after default start", cmd: domain.CloseUnit{Reason: "travaux", PlannedEnd: later},
			want: []domain.Event{domain.UnitClosed{Reason: "travaux", Start: t0, PlannedEnd: later}}},
		{name: "planned end before default start", cmd: domain.CloseUnit{Reason: "travaux", PlannedEnd: t0.Add(-time.Second)}, code: domain.EInvalid},
		{name: "planned end at default start", cmd: domain.CloseUnit{Reason: "travaux", PlannedEnd: t0.In(paris)}, code: domain.EInvalid},
		{name: "planned end before start", cmd: domain.CloseUnit{Reason: "travaux", Start: later, PlannedEnd: later.Add(-time.Hour)}, code: domain.EInvalid},
		{name: "no reason", cmd: domain.CloseUnit{}, code: domain.EInvalid},
		{name: "blank reason", cmd: domain.CloseUnit{Reason: " "}, code: domain.EInvalid},
		{name: "reason 500", cmd: domain.CloseUnit{Reason: rep("é", 500)}, want: []domain.Event{domain.UnitClosed{Reason: rep("é", 500), Start: t0}}},
		{name: "reason 501", cmd: domain.CloseUnit{Reason: rep("é", 501)}, code: domain.EInvalid},
		{name: "reason control", cmd: domain.CloseUnit{Reason: "a\x00"}, code: domain.EInvalid},
		{name: "start year 10000", cmd: domain.CloseUnit{Reason: "travaux", Start: y10000}, code: domain.EInvalid},
		{name: "now year 10000", cmd: domain.CloseUnit{Reason: "travaux"}, now: y10000, code: domain.EInvalid},
		{name: "start year 9999 in UTC, 10000 in its zone", cmd: domain.CloseUnit{Reason: "travaux", Start: lastOf9999.In(paris)},
			want: []domain.Event{domain.UnitClosed{Reason: "travaux", Start: lastOf9999}}},
		{name: "planned end year 10000", cmd: domain.CloseUnit{Reason: "travaux", PlannedEnd: y10000}, code: domain.EInvalid},
		{name: "already closed", given: closed, cmd: domain.CloseUnit{Reason: "encore"}, code: domain.EConflict},
		{name: "closed again after reopening", given: append(closed, domain.ReopenUnit{}), cmd: domain.CloseUnit{Reason: "encore"},
			want: []domain.Event{domain.UnitClosed{Reason: "encore", Start: t0}}},
	})

	// A clock reading: the monotonic part is dropped, the instant kept, in UTC.
	now := time.Now()
	s := registered(t)
	evs, err := domain.Decide(s, domain.CloseUnit{Reason: "travaux"}, now)
	checkDecision(t, evs, err)
	if err != nil || len(evs) != 1 {
		t.Fatalf("close at time.Now(): %#v, %v", evs, err)
	}
	if c := evs[0].(domain.UnitClosed); !c.Start.Equal(now) || c.Start != now.UTC() || c.Start.Location() != time.UTC {
		t.Errorf("close at %v: start %#v, want %v in UTC", now, c.Start, now)
	}
	// Without a clock and without a start there is no start.
	evs, err = domain.Decide(s, domain.CloseUnit{Reason: "travaux"}, time.Time{})
	checkDecision(t, evs, err)
	wantCode(t, err, domain.EInvalid)
}

func TestDecideReopen(t *testing.T) {
	reopenable := domain.CloseUnit{Reason: "travaux", Reopenable: true}
	final := domain.CloseUnit{Reason: "fermeture définitive"}
	runDecide(t, []decideCase{
		{name: "reopen", given: []domain.Command{reopenable}, cmd: domain.ReopenUnit{}, want: []domain.Event{domain.UnitReopened{}}},
		{name: "reopen an open unit", cmd: domain.ReopenUnit{}, code: domain.EConflict},
		{name: "reopen twice", given: []domain.Command{reopenable, domain.ReopenUnit{}}, cmd: domain.ReopenUnit{}, code: domain.EConflict},
		{name: "not reopenable", given: []domain.Command{final}, cmd: domain.ReopenUnit{}, code: domain.EConflict},
		{name: "reopenable second closure", given: []domain.Command{reopenable, domain.ReopenUnit{}, reopenable}, cmd: domain.ReopenUnit{},
			want: []domain.Event{domain.UnitReopened{}}},
	})
}

func TestDecidePool(t *testing.T) {
	pooled := []domain.Command{domain.PoolUnit{Pool: "P1"}}
	runDecide(t, []decideCase{
		{name: "pool", cmd: domain.PoolUnit{Pool: "P1"}, want: []domain.Event{domain.UnitPooled{Pool: "P1"}}},
		{name: "same pool again", given: pooled, cmd: domain.PoolUnit{Pool: "P1"}, code: domain.EConflict},
		{name: "move to another pool", given: pooled, cmd: domain.PoolUnit{Pool: "P2"}, want: []domain.Event{domain.UnitPooled{Pool: "P2"}}},
		{name: "empty pool", cmd: domain.PoolUnit{}, code: domain.EInvalid},
		{name: "empty pool while pooled", given: pooled, cmd: domain.PoolUnit{}, code: domain.EInvalid},
		{name: "bad pool id", cmd: domain.PoolUnit{Pool: "pool 1"}, code: domain.EInvalid},
		{name: "pool while closed", given: []domain.Command{domain.CloseUnit{Reason: "travaux"}}, cmd: domain.PoolUnit{Pool: "P1"},
			want: []domain.Event{domain.UnitPooled{Pool: "P1"}}},
		{name: "unpool", given: pooled, cmd: domain.UnpoolUnit{}, want: []domain.Event{domain.UnitUnpooled{}}},
		{name: "unpool without pool", cmd: domain.UnpoolUnit{}, code: domain.EConflict},
		{name: "unpool twice", given: append(pooled, domain.UnpoolUnit{}), cmd: domain.UnpoolUnit{}, code: domain.EConflict},
	})
}

func TestApplyAndRevision(t *testing.T) {
	s := &domain.UnitState{}
	if got := s.Revision(); got != domain.NoStreamRevision {
		t.Fatalf("Revision() of a new state = %d, want %d", got, domain.NoStreamRevision)
	}
	if s.Registered() || s.IsUnitClosed() || s.Declared() != (domain.AvailabilityDeclared{}) || s.Comment() != "" || s.Pool() != "" {
		t.Fatalf("zero state is not empty: %+v", snap(s))
	}
	at := []time.Time{t0, t0.Add(time.Hour), t0.Add(2 * time.Hour)}
	steps := []struct {
		e    domain.Event
		at   time.Time
		want func(snapshot) bool
	}{
		{domain.UnitRegistered{Unit: validUnit()}, at[0], func(s snapshot) bool { return s.Registered && s.Unit == validUnit() }},
		{domain.AvailabilityDeclared{Available: 3, Installed: 20, ClosedPlaces: 2}, at[1], func(s snapshot) bool {
			return s.Available == 3 && s.Declared == domain.AvailabilityDeclared{Available: 3, Installed: 20, ClosedPlaces: 2} && s.LastDeclaredAt.Equal(at[1])
		}},
		{domain.CommentSet{Text: "1 place"}, at[2], func(s snapshot) bool { return s.Comment == "1 place" }},
		{domain.UnitPooled{Pool: "P1"}, at[2], func(s snapshot) bool { return s.Pool == "P1" }},
		{domain.UnitClosed{Reason: "travaux", Start: t0, PlannedEnd: t0.Add(time.Hour), Reopenable: true}, at[2], func(s snapshot) bool {
			// Closing: the last declaration stays as it was (what the
			// screens show of a closed unit is the read model's rule).
			return s.Closed && s.Available == 3 && s.Declared.Installed == 20 && s.Declared.ClosedPlaces == 2 &&
				s.LastDeclaredAt.Equal(at[1]) && s.Closure == domain.Closure{Reason: "travaux", Start: t0, PlannedEnd: t0.Add(time.Hour), Reopenable: true}
		}},
		{domain.UnitReopened{}, at[2], func(s snapshot) bool {
			// The declaration from before the closure is not current: the
			// unit awaits a new one (the read model shows 0 available).
			return !s.Closed && s.Closure == domain.Closure{} && s.Declared.Installed == 20 && s.Awaiting
		}},
		{domain.UnitUnpooled{}, at[2], func(s snapshot) bool { return s.Pool == "" }},
		{domain.CommentCleared{}, at[2], func(s snapshot) bool { return s.Comment == "" }},
		{domain.UnitDetailsChanged{Unit: domain.Unit{ID: "77-EG-01", Name: "x"}}, at[2], func(s snapshot) bool { return s.Unit.Name == "x" && s.Registered }},
	}
	for i, st := range steps {
		s.Apply(&domain.Envelope{Event: st.e, RecordedAt: st.at})
		got := snap(s)
		if got.Revision != int64(i) {
			t.Errorf("after %d events: Revision() = %d, want %d", i+1, got.Revision, i)
		}
		if !st.want(got) {
			t.Errorf("after %s: state %+v", st.e.EventType(), got)
		}
	}
}

// TestApplyOddOrders: events are facts, Apply folds any sequence without
// panicking and counts every event in the revision.
func TestApplyOddOrders(t *testing.T) {
	streams := [][]domain.Event{
		{domain.AvailabilityDeclared{Available: 1, Installed: 2}, domain.UnitRegistered{Unit: validUnit()}},
		{domain.UnitReopened{}},
		{domain.UnitUnpooled{}, domain.CommentCleared{}},
		{domain.UnitClosed{Reason: "x", Start: t0}, domain.UnitClosed{Reason: "y", Start: t0}, domain.AvailabilityDeclared{Available: 4, Installed: 4}},
		{domain.UnitDetailsChanged{Unit: validUnit()}},
		{domain.UnitRegistered{Unit: validUnit()}, domain.UnitRegistered{Unit: validUnit()}},
		{domain.UnitRegistered{}, domain.AvailabilityDeclared{Available: 5}}, // invalid events too
		{nil, foreignEvent{}, (*domain.AvailabilityDeclared)(nil)},
	}
	for i, evs := range streams {
		s := &domain.UnitState{}
		applyAll(s, t0, evs...)
		if got := s.Revision(); got != int64(len(evs)-1) {
			t.Errorf("stream %d: Revision() = %d, want %d", i, got, len(evs)-1)
		}
	}
	// A declaration on a closed unit (it cannot be decided, but a log may hold
	// one): the unit stays closed, the declaration folded as the fact it is.
	s := &domain.UnitState{}
	applyAll(s, t0, domain.UnitClosed{Reason: "x", Start: t0}, domain.AvailabilityDeclared{Available: 4, Installed: 4})
	if !s.IsUnitClosed() || s.Declared().Available != 4 || s.Declared().Installed != 4 {
		t.Errorf("declaration on a closed unit: %+v", snap(s))
	}
	// Apply before registration, then registration: the unit is there.
	s = &domain.UnitState{}
	applyAll(s, t0, domain.AvailabilityDeclared{Available: 1, Installed: 2}, domain.UnitRegistered{Unit: validUnit()})
	if !s.Registered() || s.Declared().Available != 1 {
		t.Errorf("declaration before registration: %+v", snap(s))
	}
}

// TestStateCopiesAreIndependent: a UnitState copied by value (as callers do
// to keep a past state) is not changed by applying events to the original.
func TestStateCopiesAreIndependent(t *testing.T) {
	s := registered(t, domain.CloseUnit{Reason: "travaux", Reopenable: true})
	old := *s
	before := snap(&old)
	applyAll(s, t0, domain.UnitReopened{}, domain.UnitClosed{Reason: "autre", Start: t0.Add(time.Hour)})
	if after := snap(&old); !reflect.DeepEqual(after, before) {
		t.Errorf("copy changed:\n got %+v\nwant %+v", after, before)
	}
}
