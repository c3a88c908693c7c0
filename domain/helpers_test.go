package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"dispo/domain"
)

// t0 is the instant the tests decide at unless they say otherwise.
var t0 = time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)

// paris is a fixed +01:00 zone (Paris in winter) that needs no tz database.
var paris = time.FixedZone("CET", 3600)

// validUnit returns a unit that passes Validate (the seed's "UC DIALYSE UDM").
func validUnit() domain.Unit {
	return domain.Unit{
		ID:            "77-EG-01",
		FINESS:        "770110054",
		Establishment: "EG",
		Department:    "77",
		Type:          "udm",
		Name:          "UC DIALYSE UDM",
		Phone:         "01 64 00 00 00",
	}
}

// applyAll folds evs into s as the log would, recorded at at.
func applyAll(s *domain.UnitState, at time.Time, evs ...domain.Event) {
	for _, e := range evs {
		s.Apply(&domain.Envelope{Event: e, RecordedAt: at})
	}
}

// given returns the state of a unit built by accepting cmds in order at t0,
// failing the test if any is refused.
func given(tb testing.TB, cmds ...domain.Command) *domain.UnitState {
	tb.Helper()
	s := &domain.UnitState{}
	for i, c := range cmds {
		evs, err := domain.Decide(s, c, t0)
		if err != nil {
			tb.Fatalf("given: command %d (%T): %v", i, c, err)
		}
		applyAll(s, t0, evs...)
	}
	return s
}

// registered is given(RegisterUnit(validUnit()), cmds...).
func registered(tb testing.TB, cmds ...domain.Command) *domain.UnitState {
	tb.Helper()
	return given(tb, append([]domain.Command{domain.RegisterUnit{Unit: validUnit()}}, cmds...)...)
}

// snapshot is everything UnitState exposes, compared to prove a state unchanged.
type snapshot struct {
	Registered     bool
	Unit           domain.Unit
	Declared       domain.AvailabilityDeclared
	LastDeclaredAt time.Time
	Comment        string
	Closure        domain.Closure
	Closed         bool
	Pool           string
	Revision       int64
	Available      int
	Awaiting       bool
	Retired        bool
	DeclarationID  domain.EventID
	CommentAt      time.Time
}

func snap(s *domain.UnitState) snapshot {
	c, closed := s.Closure()
	return snapshot{
		Registered: s.Registered(), Unit: s.Unit(), Declared: s.Declared(), LastDeclaredAt: s.LastDeclaredAt(),
		Comment: s.Comment(), Closure: c, Closed: closed, Pool: s.Pool(), Revision: s.Revision(), Available: s.Declared().Available, Awaiting: s.AwaitingDeclaration(),
		Retired: s.Retired(), DeclarationID: s.DeclarationID(), CommentAt: s.CommentAt(),
	}
}

// normalize returns e with its times in UTC, the form Decide writes them in.
func normalize(e domain.Event) domain.Event {
	if c, ok := e.(domain.UnitClosed); ok {
		c.Start = c.Start.UTC()
		c.PlannedEnd = c.PlannedEnd.UTC()
		return c
	}
	return e
}

// roundTrip encodes e and decodes it back, failing the test unless the result
// equals e (times compared in UTC).
func roundTrip(tb testing.TB, e domain.Event) {
	tb.Helper()
	data, err := domain.EncodeEvent(e)
	if err != nil {
		tb.Fatalf("EncodeEvent(%#v): %v", e, err)
	}
	got, err := domain.DecodeEvent(e.EventType(), domain.CurrentSchema(e.EventType()), data)
	if err != nil {
		tb.Fatalf("DecodeEvent(%s, %s): %v", e.EventType(), data, err)
	}
	if !reflect.DeepEqual(normalize(got), normalize(e)) {
		tb.Fatalf("round trip of %s:\n got %#v\nwant %#v", data, got, e)
	}
}

// wantCode fails the test unless err has code want ("" for no error).
func wantCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := domain.ErrorCode(err); got != want {
		tb.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

func rep(s string, n int) string { return strings.Repeat(s, n) }
