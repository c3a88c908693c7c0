package esdblog_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"dispo/adapters/esdblog"
	"dispo/adapters/eventlogtest"
	"dispo/cmd/dispo/app"
	"dispo/domain"
	"dispo/projections"
)

// checkedSource is the adapter as the service's follower sees it, checking that
// every subscription yields positions after, after+1, after+2...: no gap,
// no duplicate, across resubscriptions. It counts declarations yielded.
type checkedSource struct {
	t   *testing.T
	log *esdblog.Log

	mu           sync.Mutex
	subscribes   int
	declarations int
	last         uint64
}

func (s *checkedSource) Head(ctx context.Context) (uint64, error) { return s.log.Head(ctx) }

func (s *checkedSource) Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		s.mu.Lock()
		s.subscribes++
		if after != s.last {
			s.t.Errorf("Live resubscribed after %d, but was yielded up to %d", after, s.last)
		}
		s.mu.Unlock()
		want := after + 1
		for env, err := range s.log.Subscribe(ctx, after) {
			if err == nil {
				s.mu.Lock()
				if env.Position != want {
					s.t.Errorf("subscription yielded position %d, want %d", env.Position, want)
				}
				want = env.Position + 1
				s.last = env.Position
				if _, ok := env.Event.(domain.AvailabilityDeclared); ok {
					s.declarations++
				}
				s.mu.Unlock()
			}
			if !yield(env, err) {
				return
			}
		}
	}
}

func (s *checkedSource) counts() (subscribes, declarations int, last uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribes, s.declarations, s.last
}

func registration(unit string) domain.Envelope {
	return eventlogtest.Env(domain.UnitRegistered{Unit: domain.Unit{ID: unit, FINESS: "770000001", Establishment: "EG",
		Department: "77", Type: "udm", Name: "UDM " + unit}})
}

// The stand-in stops mid-run (a crash): appends fail with an error the API
// turns into 503, nothing is half-appended, and once it is back the log
// holds exactly the acknowledged events, gapless; the projections that
// followed the log through it applied each event once.
func TestStandinStopsMidRun(t *testing.T) {
	srv := startStandin(t)
	opts := testOptions(t)
	opts.CallTimeout = time.Second
	l := mustOpen(t, srv.URL(), opts)
	ctx := testCtx(t)

	src := &checkedSource{t: t, log: l}
	live := projections.NewLive()
	followCtx, stopFollowing := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		app.Follow(followCtx, live, src, func(err error) { t.Logf("Live: %v", err) })
	}()
	defer func() { stopFollowing(); <-followed }()

	units := []string{"77-EG-01", "77-EG-02", "77-EG-03"}
	var acked []domain.Envelope // in position order
	revs := map[string]int64{}
	appendTo := func(unit string, evs []domain.Envelope) (domain.AppendResult, error) {
		stream := "unit-" + unit
		exp := domain.NoStream
		if r, ok := revs[stream]; ok {
			exp = domain.Exact(r)
		}
		res, err := l.Append(ctx, stream, exp, evs)
		if err == nil {
			if want := uint64(len(acked)) + 1; res.FirstPosition != want {
				t.Fatalf("append at position %d, want %d", res.FirstPosition, want)
			}
			for _, e := range evs {
				e.Stream = stream
				acked = append(acked, e)
			}
			revs[stream] = res.Revision
		}
		return res, err
	}
	for _, u := range units {
		if _, err := appendTo(u, append([]domain.Envelope{registration(u)}, eventlogtest.Declarations(2)...)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		if _, err := appendTo(units[i%3], eventlogtest.Declarations(1)); err != nil {
			t.Fatal(err)
		}
	}
	waitLive(t, live, uint64(len(acked)))

	srv.Stop()
	var failed [][]domain.Envelope
	for i := 0; i < 4; i++ {
		evs := eventlogtest.Declarations(1)
		start := time.Now()
		_, err := appendTo(units[i%3], evs)
		var unavailable interface{ Unavailable() bool }
		if !errors.As(err, &unavailable) || !unavailable.Unavailable() {
			t.Fatalf("append while the server is down: %v, want an error with Unavailable() true", err)
		}
		if took := time.Since(start); took > 3*opts.CallTimeout {
			t.Fatalf("append while the server is down took %v (call timeout %v)", took, opts.CallTimeout)
		}
		failed = append(failed, evs)
	}
	if _, err := l.ReadStreamForward(ctx, "unit-"+units[0], 0, 0); !isUnavailable(err) {
		t.Fatalf("read while the server is down: %v, want unavailable", err)
	}
	time.Sleep(300 * time.Millisecond) // calls left behind in the client would write now, if they could

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// Calls abandoned during the outage must not write when the server is back.
	time.Sleep(500 * time.Millisecond)
	if n := srv.Stats().Events; n != len(acked) {
		t.Fatalf("after restart the server holds %d events, want the %d acknowledged", n, len(acked))
	}
	// Back to work: the failed appends, retried with the same ids, go in.
	eventually(t, "appends succeed again", func() bool {
		_, err := appendTo(units[0], failed[0])
		return err == nil
	})
	for i, evs := range failed[1:] {
		if _, err := appendTo(units[(i+1)%3], evs); err != nil {
			t.Fatalf("retrying a failed append: %v", err)
		}
	}
	// A reply lost on the way: the adapter retries, the server recognises
	// the ids, the event is stored once.
	srv.LoseNextAppendReplies(1)
	if _, err := appendTo(units[1], eventlogtest.Declarations(1)); err != nil {
		t.Fatalf("append whose first reply was lost: %v", err)
	}
	// Subscriptions dropped by the server resume by themselves.
	srv.DropSubscriptions()
	for i := 0; i < 6; i++ {
		if _, err := appendTo(units[i%3], eventlogtest.Declarations(2)); err != nil {
			t.Fatal(err)
		}
	}

	head, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head != uint64(len(acked)) {
		t.Fatalf("head %d, want %d acknowledged events", head, len(acked))
	}
	if n := srv.Stats().Events; n != len(acked) {
		t.Fatalf("the server holds %d events, want %d", n, len(acked))
	}
	checkLog(t, l, acked)
	waitLive(t, live, head)
	declared := 0
	for _, e := range acked {
		if _, ok := e.Event.(domain.AvailabilityDeclared); ok {
			declared++
		}
	}
	subs, got, last := src.counts()
	if got != declared || last != head {
		t.Fatalf("Live was yielded %d declarations up to position %d (%d subscriptions), want %d up to %d", got, last, subs, declared, head)
	}
	if subs != 1 {
		t.Fatalf("Live subscribed %d times: the adapter's subscription should have resumed by itself", subs)
	}
	// The projection agrees with a fold of the log from scratch.
	rebuilt := projections.NewAvailability()
	for env, err := range l.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		rebuilt.Apply(&env)
	}
	live.View(func(a *projections.Availability) {
		if fmt.Sprint(a.Units()) != fmt.Sprint(rebuilt.Units()) {
			t.Fatalf("live projection differs from a rebuild:\n got %v\nwant %v", a.Units(), rebuilt.Units())
		}
	})

	// Another replica, opened now, derives the same positions.
	other := mustOpen(t, srv.URL(), opts)
	checkLog(t, other, acked)
}

// checkLog checks that l holds exactly want, at positions 1, 2, 3...
func checkLog(t *testing.T, l *esdblog.Log, want []domain.Envelope) {
	t.Helper()
	var got []domain.Envelope
	for env, err := range l.ReadAll(testCtx(t), 0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, env)
	}
	if len(got) != len(want) {
		t.Fatalf("the log holds %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Position != uint64(i+1) || got[i].ID != want[i].ID || got[i].Stream != want[i].Stream {
			t.Fatalf("event %d: position %d, id %x in %s; want position %d, id %x in %s",
				i, got[i].Position, got[i].ID, got[i].Stream, i+1, want[i].ID, want[i].Stream)
		}
	}
}

func isUnavailable(err error) bool {
	var u interface{ Unavailable() bool }
	return errors.As(err, &u) && u.Unavailable()
}

func waitLive(t *testing.T, live *projections.Live, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := live.WaitFor(ctx, pos); err != nil {
		t.Fatalf("Live did not reach position %d (at %d): %v", pos, live.Position(), err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
