package projections_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"dispo/adapters/fixturegen"
	"dispo/adapters/memlog"
	"dispo/domain"
	"dispo/projections"
)

// The state as of an instant equals a fold of every event recorded up to
// it, whether or not checkpoints lie before it; copies are independent.
func TestAsOfEqualsAFoldOfThePrefix(t *testing.T) {
	log, evs := fixtureLog(t)
	live := projections.NewLive()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); follow(ctx, live, log) }()
	defer func() { cancel(); <-done }()
	for !live.Ready() {
		time.Sleep(time.Millisecond)
	}
	for _, i := range []int{0, 1, 100, 8191, 8192, 8193, 12000, len(evs) - 1} {
		at := evs[i].RecordedAt
		for i+1 < len(evs) && !evs[i+1].RecordedAt.After(at) {
			i++ // events recorded at the same instant belong to it too
		}
		want := projections.NewAvailability()
		for j := 0; j <= i; j++ {
			want.Apply(&evs[j])
		}
		got, err := live.AsOf(context.Background(), at, log)
		if err != nil {
			t.Fatal(err)
		}
		now := at.Add(time.Hour)
		if g, w := render(t, got, now), render(t, want, now); g != w {
			t.Fatalf("as of event %d (%s): the state differs from a fold of the prefix", i, at)
		}
		// Folding into the answer must not touch the checkpoint it came from.
		got.Apply(&domain.Envelope{Position: got.Position() + 1, Stream: evs[0].Stream, RecordedAt: now,
			Event: domain.AvailabilityDeclared{Available: 0, Installed: 999}})
	}
	before, err := live.AsOf(context.Background(), evs[0].RecordedAt.Add(-time.Hour), log)
	if err != nil || len(before.Units()) != 0 || before.Position() != 0 {
		t.Fatalf("as of before the first event: %d units at %d (%v)", len(before.Units()), before.Position(), err)
	}
}

// After a snapshot resume, the checkpoints before it come back, and as-of
// answers stay those of a fold of the prefix.
func TestRebuildCheckpointsAfterResume(t *testing.T) {
	log, evs := fixtureLog(t)
	first := projections.NewLive()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); follow(ctx, first, log) }()
	for !first.Ready() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	resumed := projections.NewLive()
	if err := resumed.Restore(first.Image()); err != nil {
		t.Fatal(err)
	}
	if got := projections.CheckpointCount(resumed); got != 1 {
		t.Fatalf("%d checkpoints after resume, want the snapshot's one", got)
	}
	if err := resumed.RebuildCheckpoints(context.Background(), log); err != nil {
		t.Fatal(err)
	}
	// The ones the first Live made along the way, plus the snapshot's own.
	if got, want := projections.CheckpointCount(resumed), projections.CheckpointCount(first)+1; got != want {
		t.Fatalf("%d checkpoints after the rebuild, want %d", got, want)
	}
	for _, i := range []int{8500, 12000} {
		at := evs[i].RecordedAt
		for i+1 < len(evs) && !evs[i+1].RecordedAt.After(at) {
			i++
		}
		want := projections.NewAvailability()
		for j := 0; j <= i; j++ {
			want.Apply(&evs[j])
		}
		got, err := resumed.AsOf(context.Background(), at, log)
		if err != nil {
			t.Fatal(err)
		}
		now := at.Add(time.Hour)
		if render(t, got, now) != render(t, want, now) {
			t.Fatalf("as of event %d after the rebuild: differs from a fold of the prefix", i)
		}
	}
}

// fixtureLog is a log holding the Île-de-France fixture's events.
func fixtureLog(t *testing.T) (*memlog.Log, []domain.Envelope) {
	t.Helper()
	log := memlog.New()
	t.Cleanup(func() { log.Close() })
	gen, err := fixturegen.IleDeFrance(fixturegen.DefaultIleDeFrance())
	if err != nil {
		t.Fatal(err)
	}
	evs := slices.Collect(gen)
	if _, err := fixturegen.Fill(context.Background(), log, slices.Values(evs), 5000); err != nil {
		t.Fatal(err)
	}
	return log, evs
}

// The state after a position equals a fold of the events up to it, on
// either side of a checkpoint; copies are independent.
func TestAsOfPositionEqualsAFoldOfThePrefix(t *testing.T) {
	log, evs := fixtureLog(t)
	live := projections.NewLive()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); follow(ctx, live, log) }()
	defer func() { cancel(); <-done }()
	for !live.Ready() {
		time.Sleep(time.Millisecond)
	}
	now := evs[len(evs)-1].RecordedAt.Add(time.Hour)
	for _, n := range []int{0, 1, 100, 8191, 8192, 8193, 12000, len(evs)} {
		want := projections.NewAvailability()
		for j := 0; j < n; j++ {
			want.Apply(&evs[j])
		}
		got, err := live.AsOfPosition(context.Background(), uint64(n), log)
		if err != nil {
			t.Fatal(err)
		}
		if got.Position() != uint64(n) || render(t, got, now) != render(t, want, now) {
			t.Fatalf("as of position %d: at %d, the state differs from a fold of the prefix", n, got.Position())
		}
		got.Apply(&domain.Envelope{Position: got.Position() + 1, Stream: evs[0].Stream, RecordedAt: now,
			Event: domain.AvailabilityDeclared{Available: 0, Installed: 999}})
	}
}
