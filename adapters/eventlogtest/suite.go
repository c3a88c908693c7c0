// Package eventlogtest is the conformance suite of dispo's event logs: every
// behaviour the rest of dispo relies on, stated once, run against every log
// (the embedded bbolt log, the EventStoreDB adapter). A log that passes it
// can be swapped for another without the service noticing.
package eventlogtest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"dispo/domain"

	"github.com/google/uuid"
)

// Log is what the suite needs of an event log; see the boltlog package for
// the contract of each method.
type Log interface {
	Append(ctx context.Context, stream string, expected domain.ExpectedRevision, events []domain.Envelope) (domain.AppendResult, error)
	ReadStreamForward(ctx context.Context, stream string, from uint64, max int) ([]domain.Envelope, error)
	ReadStreamBackward(ctx context.Context, stream string, from int64, max int) ([]domain.Envelope, error)
	ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
	Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
	Head(ctx context.Context) (uint64, error)
}

// Opener returns a new, empty log that lives until the test ends.
type Opener func(t *testing.T) Log

// Run runs every conformance test against logs made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Log)
	}{
		{"AppendAndReadBack", testAppendAndReadBack},
		{"EveryEventTypeRoundTrips", testEveryEventTypeRoundTrips},
		{"ExpectedRevision", testExpectedRevision},
		{"IdempotentRetry", testIdempotentRetry},
		{"IdsElsewhereConflict", testIdsElsewhereConflict},
		{"InvalidAppendWritesNothing", testInvalidAppend},
		{"GaplessGlobalPosition", testGaplessGlobalPosition},
		{"ReadStreamDirections", testReadStreamDirections},
		{"StreamNotFound", testStreamNotFound},
		{"SubscribeCatchUpThenLive", testSubscribe},
		{"ConcurrentAppenders", testConcurrentAppenders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// clock hands out distinct, increasing instants so RecordedAt is checked
// to the nanosecond.
var clock = struct {
	sync.Mutex
	t time.Time
}{t: time.Date(2025, 3, 6, 14, 30, 0, 123456789, time.UTC)}

func now() time.Time {
	clock.Lock()
	defer clock.Unlock()
	clock.t = clock.t.Add(time.Second + 7)
	return clock.t
}

// Env wraps e in an envelope with a fresh id, as a command handler would.
func Env(e domain.Event) domain.Envelope {
	return domain.Envelope{
		ID:            domain.EventID(uuid.Must(uuid.NewV7())),
		SchemaVersion: domain.CurrentSchema(e.EventType()),
		RecordedAt:    now(),
		Actor:         domain.Actor{UserID: "resp-770000001", Role: domain.RoleResponsable, Establishment: "770000001"},
		Source:        domain.SourceAPI,
		CorrelationID: uuid.NewString(),
		Event:         e,
	}
}

// Declarations returns n declarations with distinct counts.
func Declarations(n int) []domain.Envelope {
	out := make([]domain.Envelope, n)
	for i := range out {
		out[i] = Env(domain.AvailabilityDeclared{Available: i % 7, Installed: 20, ClosedPlaces: i % 3})
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustAppend(t *testing.T, l Log, stream string, exp domain.ExpectedRevision, evs []domain.Envelope) domain.AppendResult {
	t.Helper()
	res, err := l.Append(ctx(t), stream, exp, evs)
	if err != nil {
		t.Fatalf("append %d events to %s at %s: %v", len(evs), stream, exp, err)
	}
	return res
}

func head(t *testing.T, l Log) uint64 {
	t.Helper()
	h, err := l.Head(ctx(t))
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

func readAll(t *testing.T, l Log, after uint64) []domain.Envelope {
	t.Helper()
	var out []domain.Envelope
	for env, err := range l.ReadAll(ctx(t), after) {
		if err != nil {
			t.Fatalf("read all after %d: %v", after, err)
		}
		out = append(out, env)
	}
	return out
}

// sameEvent compares what a log must keep of an envelope it was given; the
// hashes are kept verbatim, zero or not.
func sameEvent(t *testing.T, got, want domain.Envelope) {
	t.Helper()
	if got.ID != want.ID || got.Stream != want.Stream || got.Type() != want.Type() ||
		got.SchemaVersion != want.SchemaVersion || got.Actor != want.Actor || got.Source != want.Source ||
		got.CorrelationID != want.CorrelationID || got.Hash != want.Hash || got.PrevHash != want.PrevHash {
		t.Fatalf("envelope differs:\n got %+v\nwant %+v", got, want)
	}
	if !got.RecordedAt.Equal(want.RecordedAt) || got.RecordedAt.Location() != time.UTC {
		t.Fatalf("recorded-at: got %v, want %v in UTC", got.RecordedAt, want.RecordedAt)
	}
	if fmt.Sprintf("%#v", normalise(got.Event)) != fmt.Sprintf("%#v", normalise(want.Event)) {
		t.Fatalf("event differs:\n got %#v\nwant %#v", got.Event, want.Event)
	}
}

// normalise strips time locations, which logs need not keep.
func normalise(e domain.Event) domain.Event {
	if c, ok := e.(domain.UnitClosed); ok {
		c.Start = c.Start.UTC()
		if !c.PlannedEnd.IsZero() {
			c.PlannedEnd = c.PlannedEnd.UTC()
		}
		return c
	}
	return e
}

func wantConflict(t *testing.T, err error, actual int64) {
	t.Helper()
	var c *domain.ConflictError
	if !errors.As(err, &c) {
		t.Fatalf("got error %v, want a *domain.ConflictError", err)
	}
	if c.Actual != actual {
		t.Fatalf("conflict reports current revision %d, want %d", c.Actual, actual)
	}
	if domain.ErrorCode(err) != domain.EConflict {
		t.Fatalf("error code %q, want %q", domain.ErrorCode(err), domain.EConflict)
	}
}
