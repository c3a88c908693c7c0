package esdblog_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"dispo/adapters/esdblog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"
)

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("%s: got %v (code %q), want code %q", what, err, got, code)
	}
}

func wantConflict(t *testing.T, what string, err error, actual int64) {
	t.Helper()
	var c *domain.ConflictError
	if !errors.As(err, &c) {
		t.Fatalf("%s: got %v, want a *domain.ConflictError", what, err)
	}
	if c.Actual != actual {
		t.Fatalf("%s: conflict reports current revision %d, want %d", what, c.Actual, actual)
	}
	wantCode(t, what, err, domain.EConflict)
}

// EventStoreDB's WrongExpectedVersion becomes the domain's conflict with the
// current revision the server reported, whether the index or the server
// saw it first.
func TestConflictTranslation(t *testing.T) {
	srv := startStandin(t)
	l := mustOpen(t, srv.URL(), testOptions(t))
	ctx := testCtx(t)
	_, err := l.Append(ctx, "unit-x", domain.Exact(3), eventlogtest.Declarations(1))
	wantConflict(t, "exact revision on a missing stream", err, domain.NoStreamRevision)
	if _, err := l.Append(ctx, "unit-x", domain.NoStream, eventlogtest.Declarations(3)); err != nil {
		t.Fatal(err)
	}
	before := srv.Stats().Conflicts
	_, err = l.Append(ctx, "unit-x", domain.NoStream, eventlogtest.Declarations(1))
	wantConflict(t, "no stream on a stream at 2", err, 2)
	_, err = l.Append(ctx, "unit-x", domain.Exact(1), eventlogtest.Declarations(1))
	wantConflict(t, "exact 1 on a stream at 2", err, 2)
	if got := srv.Stats().Conflicts - before; got != 2 {
		t.Fatalf("the server answered %d conflicts, want 2: the translation under test is the server's", got)
	}
	var c *domain.ConflictError
	errors.As(err, &c)
	if c.Stream != "unit-x" || c.Expected != domain.Exact(1) {
		t.Fatalf("conflict %+v: want stream unit-x, expected 1", c)
	}
	if h, _ := l.Head(ctx); h != 3 {
		t.Fatalf("head %d after refused appends, want 3", h)
	}
}

func TestNotFoundTranslation(t *testing.T) {
	l := mustOpen(t, startStandin(t).URL(), testOptions(t))
	ctx := testCtx(t)
	_, err := l.ReadStreamForward(ctx, "unit-missing", 0, 0)
	wantCode(t, "forward read of a missing stream", err, domain.ENotFound)
	_, err = l.ReadStreamBackward(ctx, "unit-missing", -1, 1)
	wantCode(t, "backward read of a missing stream", err, domain.ENotFound)
}

func TestInvalidTranslation(t *testing.T) {
	srv := startStandin(t)
	l := mustOpen(t, srv.URL(), testOptions(t))
	ctx := testCtx(t)
	dup := eventlogtest.Declarations(1)
	for _, tc := range []struct {
		name string
		reqs []domain.AppendRequest
	}{
		{"no part", nil},
		{"stream name with a slash and a space", []domain.AppendRequest{{Stream: "unit /a", Expected: domain.AnyRevision, Events: eventlogtest.Declarations(1)}}},
		{"reserved stream name", []domain.AppendRequest{{Stream: "$$unit-a", Expected: domain.AnyRevision, Events: eventlogtest.Declarations(1)}}},
		{"expected revision below any", []domain.AppendRequest{{Stream: "s", Expected: -3, Events: eventlogtest.Declarations(1)}}},
		{"no event in a part", []domain.AppendRequest{{Stream: "s", Expected: domain.AnyRevision}}},
		{"id in two parts of a batch", []domain.AppendRequest{
			{Stream: "a", Expected: domain.AnyRevision, Events: dup},
			{Stream: "b", Expected: domain.AnyRevision, Events: dup}}},
		{"valid part then invalid part", []domain.AppendRequest{
			{Stream: "a", Expected: domain.AnyRevision, Events: eventlogtest.Declarations(2)},
			{Stream: "b", Expected: domain.AnyRevision, Events: []domain.Envelope{eventlogtest.Env(domain.AvailabilityDeclared{Available: 3, Installed: 2})}}}},
	} {
		_, err := l.AppendBatch(ctx, tc.reqs)
		wantCode(t, tc.name, err, domain.EInvalid)
	}
	_, err := l.ReadStreamForward(ctx, "", 0, 0)
	wantCode(t, "read of an empty stream name", err, domain.EInvalid)
	if n := srv.Stats().Events; n != 0 {
		t.Fatalf("the server holds %d events after refused appends, want 0", n)
	}
}

// Transient failures are retried within the call; beyond the retries they
// are an error the API answers with 503.
func TestUnavailableTranslation(t *testing.T) {
	srv := startStandin(t)
	opts := testOptions(t)
	opts.MaxRetries = 3
	l := mustOpen(t, srv.URL(), opts)
	ctx := testCtx(t)

	srv.FailNextAppends(2)
	res, err := l.Append(ctx, "s", domain.NoStream, eventlogtest.Declarations(1))
	if err != nil || res.LastPosition != 1 {
		t.Fatalf("append after two transient failures: %+v, %v; want it retried to success at position 1", res, err)
	}

	srv.FailNextAppends(10)
	_, err = l.Append(ctx, "s", domain.Exact(0), eventlogtest.Declarations(1))
	var u *esdblog.UnavailableError
	if !errors.As(err, &u) || !u.Unavailable() {
		t.Fatalf("append failing more often than retried: %v, want an *esdblog.UnavailableError", err)
	}
	if domain.ErrorCode(err) != domain.EInternal {
		t.Fatalf("an unavailable error has code %q, want %q (the API checks Unavailable first)", domain.ErrorCode(err), domain.EInternal)
	}
	srv.FailNextAppends(0)

	// A deadline shorter than the retries also ends in Unavailable.
	srv.FailNextAppends(1000)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = l.Append(short, "s", domain.Exact(0), eventlogtest.Declarations(1))
	if !errors.As(err, &u) {
		t.Fatalf("append past its deadline: %v, want an *esdblog.UnavailableError", err)
	}
	// A cancelled caller gets its own error back.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, err = l.Append(gone, "s", domain.Exact(0), eventlogtest.Declarations(1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: %v, want context.Canceled", err)
	}
	srv.FailNextAppends(0)
	if h, _ := l.Head(ctx); h != 1 {
		t.Fatalf("head %d, want 1: failed appends wrote nothing", h)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := testCtx(t)
	_, err := esdblog.Open(ctx, "http://localhost:2113", esdblog.Options{})
	wantCode(t, "a connection string that is not esdb://", err, domain.EInvalid)
	_, err = esdblog.Open(ctx, "esdb://localhost:2113", esdblog.Options{Prefix: "dispo/"})
	wantCode(t, "a prefix with a slash", err, domain.EInvalid)

	// Nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	_, err = esdblog.Open(short, "esdb://"+addr+"?tls=false", esdblog.Options{CallTimeout: 500 * time.Millisecond})
	if !isUnavailable(err) {
		t.Fatalf("open with no server: %v, want unavailable", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("open with no server took %v", took)
	}
}

func TestClosed(t *testing.T) {
	l := mustOpen(t, startStandin(t).URL(), testOptions(t))
	ctx := testCtx(t)
	sub := make(chan error, 1)
	go func() {
		for _, err := range l.Subscribe(ctx, 0) {
			if err != nil {
				sub <- err
				return
			}
		}
		sub <- nil
	}()
	time.Sleep(100 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "s", domain.AnyRevision, eventlogtest.Declarations(1)); !errors.Is(err, esdblog.ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
	if _, err := l.Head(ctx); !errors.Is(err, esdblog.ErrClosed) {
		t.Fatalf("head after close: %v, want ErrClosed", err)
	}
	select {
	case err := <-sub:
		if !errors.Is(err, esdblog.ErrClosed) {
			t.Fatalf("subscription at close ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription did not end at close")
	}
}

// With a tiny memory of recent ids, retries are recognised by the server:
// the original result comes back, found through the stream and the index.
func TestServerIdempotence(t *testing.T) {
	srv := startStandin(t)
	opts := testOptions(t)
	opts.RecentIDs = 1
	l := mustOpen(t, srv.URL(), opts)
	ctx := testCtx(t)
	first, second := eventlogtest.Declarations(3), eventlogtest.Declarations(2)
	r1, err := l.Append(ctx, "s", domain.NoStream, first)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Append(ctx, "s", domain.Exact(2), second)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 70; i++ { // more than a block of the index
		if _, err := l.Append(ctx, "other", domain.AnyRevision, eventlogtest.Declarations(1)); err != nil {
			t.Fatal(err)
		}
	}
	before := srv.Stats()
	for _, tc := range []struct {
		exp  domain.ExpectedRevision
		evs  []domain.Envelope
		want domain.AppendResult
	}{
		{domain.NoStream, first, r1},
		{domain.AnyRevision, first, r1},
		{domain.Exact(2), second, r2},
	} {
		got, err := l.Append(ctx, "s", tc.exp, tc.evs)
		if err != nil || got != tc.want {
			t.Fatalf("retry at %s: %+v, %v; want %+v", tc.exp, got, err, tc.want)
		}
	}
	after := srv.Stats()
	if after.IdempotentAppends-before.IdempotentAppends != 3 || after.Events != before.Events {
		t.Fatalf("server: %d idempotent appends, %d new events; want 3 and 0",
			after.IdempotentAppends-before.IdempotentAppends, after.Events-before.Events)
	}
	// Only a prefix stored: the server says conflict.
	_, err = l.Append(ctx, "s", domain.Exact(2), append(second[:1:1], eventlogtest.Declarations(1)...))
	wantConflict(t, "partly stored retry", err, 4)
}
