package memlog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"dispo/adapters/eventlogtest"
	"dispo/adapters/memlog"
	"dispo/domain"
)

// Neither the appender nor a reader can change what the log holds.
func TestStoredEnvelopesAreCopies(t *testing.T) {
	ctx := context.Background()
	l := memlog.New()
	seal := eventlogtest.Env(domain.LogSealed{Heads: []domain.StreamHead{{Stream: "unit-a", Revision: 0, Hash: domain.Hash{1}.String()}}})
	given := []domain.Envelope{seal}
	if _, err := l.Append(ctx, domain.SealStream, domain.NoStream, given); err != nil {
		t.Fatal(err)
	}
	given[0].Actor.UserID = "someone-else"
	given[0].Event.(domain.LogSealed).Heads[0].Stream = "changed-by-the-appender"

	read, err := l.ReadStreamForward(ctx, domain.SealStream, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	read[0].Event.(domain.LogSealed).Heads[0].Stream = "changed-by-a-reader"
	for env, err := range l.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if got := env.Event.(domain.LogSealed).Heads[0].Stream; got != "unit-a" || env.Actor != seal.Actor {
			t.Fatalf("stored seal reads head %q, actor %+v: got changed, want unit-a, %+v", got, env.Actor, seal.Actor)
		}
	}
}

// A batch one part of which is refused stores none of its parts, and the
// streams and ids of the parts before it are free again.
func TestRefusedBatchLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	l := memlog.New()
	first := eventlogtest.Declarations(2)
	_, err := l.AppendBatch(ctx, []domain.AppendRequest{
		{Stream: "a", Expected: domain.NoStream, Events: first},
		{Stream: "a", Expected: domain.Exact(1), Events: eventlogtest.Declarations(1)},
		{Stream: "b", Expected: domain.Exact(3), Events: eventlogtest.Declarations(1)},
	})
	var c *domain.ConflictError
	if !errors.As(err, &c) || c.Stream != "b" {
		t.Fatalf("batch: got %v, want a conflict on b", err)
	}
	if h, _ := l.Head(ctx); h != 0 {
		t.Fatalf("head %d after a refused batch, want 0", h)
	}
	if _, err := l.ReadStreamForward(ctx, "a", 0, 0); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("stream a after a refused batch: %v, want not found", err)
	}
	res, err := l.Append(ctx, "c", domain.NoStream, first)
	if err != nil || res.FirstPosition != 1 || res.Revision != 1 {
		t.Fatalf("the refused batch's ids elsewhere: %+v, %v; want positions from 1, revision 1", res, err)
	}
}

// Instants come back in UTC and a zero schema version as the current one,
// as from the durable logs.
func TestStoredAsTheDurableLogsGiveBack(t *testing.T) {
	ctx := context.Background()
	l := memlog.New()
	paris := time.FixedZone("CET", 3600)
	env := eventlogtest.Env(domain.UnitClosed{Reason: "travaux", Start: time.Date(2025, 3, 11, 11, 0, 0, 0, paris)})
	env.SchemaVersion = 0
	env.RecordedAt = env.RecordedAt.In(paris)
	if _, err := l.Append(ctx, "unit-a", domain.NoStream, []domain.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	got, err := l.ReadStreamBackward(ctx, "unit-a", -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := got[0].Event.(domain.UnitClosed)
	if got[0].RecordedAt.Location() != time.UTC || c.Start.Location() != time.UTC || !c.Start.Equal(env.Event.(domain.UnitClosed).Start) {
		t.Fatalf("recorded at %v, closure start %v: want the same instants in UTC", got[0].RecordedAt, c.Start)
	}
	if want := domain.CurrentSchema(domain.TypeUnitClosed); got[0].SchemaVersion != want {
		t.Fatalf("schema version %d, want %d", got[0].SchemaVersion, want)
	}
	ptr := eventlogtest.Env(&domain.AvailabilityDeclared{Available: 1, Installed: 2})
	if _, err := l.Append(ctx, "unit-b", domain.NoStream, []domain.Envelope{ptr}); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("pointer event: got %v, want code %q", err, domain.EInvalid)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	l := memlog.New()
	ended := make(chan error, 1)
	go func() {
		for _, err := range l.Subscribe(ctx, 0) {
			ended <- err
			return
		}
	}()
	time.Sleep(10 * time.Millisecond) // let it wait, most often
	l.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, memlog.ErrClosed) {
			t.Fatalf("subscription ended with %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not end at Close")
	}
	if _, err := l.Append(ctx, "a", domain.AnyRevision, eventlogtest.Declarations(1)); !errors.Is(err, memlog.ErrClosed) {
		t.Fatalf("append after Close: %v, want ErrClosed", err)
	}
}
