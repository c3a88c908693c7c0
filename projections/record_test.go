package projections

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"dispo/domain"
)

// viewMatchesState returns what v, a unit's view, says otherwise than s, the
// domain's fold of the same stream, leaving out the available figure and
// the pool (which the whole log's fold knows); "" when they agree.
func viewMatchesState(v UnitView, s *domain.UnitState) string {
	d := s.Declared()
	var declID string
	if id := s.DeclarationID(); !id.IsZero() {
		declID = id.String()
	}
	var closure *domain.Closure
	if c, ok := s.Closure(); ok {
		closure = &c
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"unit", v.Unit, s.Unit()},
		{"installed", v.Installed, d.Installed},
		{"closed places", v.ClosedPlaces, d.ClosedPlaces},
		{"declaration id", v.DeclarationID, declID},
		{"declared at", v.LastDeclaredAt, s.LastDeclaredAt()},
		{"awaiting", v.AwaitingDeclaration, s.AwaitingDeclaration()},
		{"comment", v.Comment, s.Comment()},
		{"comment at", v.CommentAt, s.CommentAt()},
		{"closure", v.Closure, closure},
		{"retired", v.Retired, s.Retired()},
		{"revision", v.Revision, s.Revision()},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			return fmt.Sprintf("%s: got %+v, the domain's fold %+v", f.name, f.got, f.want)
		}
	}
	return ""
}

// ownAvailable is what a unit shows from its own stream alone, by the rule
// of entry.available without a pool's count.
func ownAvailable(s *domain.UnitState) int {
	if s.IsUnitClosed() || s.Retired() || s.AwaitingDeclaration() {
		return 0
	}
	return s.Declared().Available
}

// checkHistory folds stream with the domain's fold and compares each of
// UnitHistory's steps with it.
func checkHistory(t *testing.T, stream []domain.Envelope) {
	t.Helper()
	h := UnitHistory(stream, time.Time{})
	if len(h) != len(stream) {
		t.Fatalf("UnitHistory gave %d steps of %d events", len(h), len(stream))
	}
	var s domain.UnitState
	for i := range stream {
		s.Apply(&stream[i])
		e := h[i]
		if !reflect.DeepEqual(e.Event, stream[i]) {
			t.Fatalf("step %d: the event is not the stream's", i)
		}
		if msg := viewMatchesState(e.View, &s); msg != "" {
			t.Fatalf("step %d (%s): %s", i, stream[i].Type(), msg)
		}
		if e.Registered != s.Registered() || e.View.Available != ownAvailable(&s) || poolOf(e.View) != s.Pool() {
			t.Fatalf("step %d (%s): registered %v available %d pool %q, the domain's fold %v %d %q", i, stream[i].Type(),
				e.Registered, e.View.Available, poolOf(e.View), s.Registered(), ownAvailable(&s), s.Pool())
		}
		if e.View.Pool != nil && (e.View.Pool.Members != nil || e.View.Pool.Available != 0) {
			t.Fatalf("step %d: a history names the pool only, got %+v", i, *e.View.Pool)
		}
	}
}

// The read model's record folds every event type as the domain's fold
// does, including sequences the rule book refuses (events are facts): a
// correction or a declaration on a closed unit, events before the
// registration or after the retirement, a cancellation after a reopening.
func TestRecordFoldsEveryEventAsTheDomain(t *testing.T) {
	l := newLedger(t)
	l.a = nil // build only
	u := mkUnit("77-A-01", "77", "udm", "EG")
	moved := u
	moved.Department, moved.Establishment = "75", "AP-HP"
	var stream []domain.Envelope
	step := func(ev domain.Event) {
		l.at = l.at.Add(time.Hour)
		stream = append(stream, *l.envelope(domain.UnitStream(u.ID), ev))
	}
	corr := func() domain.AvailabilityCorrected {
		var s domain.UnitState
		for i := range stream {
			s.Apply(&stream[i])
		}
		return domain.AvailabilityCorrected{Corrects: s.DeclarationID().String(), Available: 1, Installed: 9, ClosedPlaces: 2, Reason: "erreur"}
	}
	step(domain.CommentSet{Text: "avant l'enregistrement"})
	step(domain.UnitRegistered{Unit: u})
	step(domain.AvailabilityDeclared{Available: 3, Installed: 10, ClosedPlaces: 1})
	step(corr())
	step(domain.CommentSet{Text: "2 postes en panne"})
	step(domain.UnitPooled{Pool: "P1"})
	step(domain.UnitClosed{Reason: "travaux", Start: l.at, PlannedEnd: l.at.Add(48 * time.Hour), Reopenable: true})
	step(corr()) // on a closed unit
	step(domain.UnitReopened{})
	step(domain.ClosureCancelled{Reason: "après la réouverture"})
	step(domain.AvailabilityDeclared{Available: 4, Installed: 10, ClosedPlaces: 0})
	step(domain.UnitClosed{Reason: "panne d'eau", Start: l.at})
	step(domain.AvailabilityDeclared{Available: 2, Installed: 10, ClosedPlaces: 0}) // on a closed unit
	step(domain.ClosureCancelled{Reason: "erreur"})
	step(domain.CommentCleared{})
	step(domain.UnitDetailsChanged{Unit: moved})
	step(domain.UnitUnpooled{})
	step(domain.UnitPooled{Pool: "P2"})
	step(domain.UnitRetired{Reason: "fermeture définitive"})
	step(domain.AvailabilityDeclared{Available: 1, Installed: 5, ClosedPlaces: 0}) // after the retirement
	step(domain.UnitRegistered{Unit: u})                                           // twice
	checkHistory(t, stream)
}

// Over random histories, every step of every unit's history is the domain's
// fold of the same events.
func TestRecordFoldsRandomHistoriesAsTheDomain(t *testing.T) {
	seed := seedFor(t)
	envs := randomLog(t, seed, 20000)
	streams := map[string][]domain.Envelope{}
	for _, env := range envs {
		if id, ok := domain.UnitIDFromStream(env.Stream); ok {
			streams[id] = append(streams[id], *env)
		}
	}
	kinds := map[string]bool{}
	for _, env := range envs {
		kinds[env.Type()] = true
	}
	for _, typ := range []string{domain.TypeAvailabilityCorrected, domain.TypeClosureCancelled, domain.TypeUnitRetired, domain.TypeUnitReopened} {
		if !kinds[typ] {
			t.Errorf("the random history holds no %s", typ)
		}
	}
	for id, stream := range streams {
		t.Run(id, func(t *testing.T) { checkHistory(t, stream) })
	}
}

// A history stops at its instant: the last step is the unit as of then.
func TestUnitHistoryUntil(t *testing.T) {
	l := newLedger(t)
	l.a = nil
	var stream []domain.Envelope
	for i, ev := range []domain.Event{
		domain.UnitRegistered{Unit: mkUnit("77-A-01", "77", "udm", "EG")},
		domain.AvailabilityDeclared{Available: 3, Installed: 10},
		domain.AvailabilityDeclared{Available: 5, Installed: 10},
	} {
		l.at = t0.Add(time.Duration(i) * time.Hour)
		stream = append(stream, *l.envelope(domain.UnitStream("77-A-01"), ev))
	}
	h := UnitHistory(stream, t0.Add(90*time.Minute))
	if len(h) != 2 || h[1].View.Available != 3 || h[1].View.Revision != 1 || !h[1].Registered {
		t.Fatalf("history until 1h30: %d steps, last %+v", len(h), h[len(h)-1])
	}
	if h := UnitHistory(stream, t0.Add(-time.Minute)); len(h) != 0 {
		t.Fatalf("history until before the registration: %d steps, want none", len(h))
	}
}
