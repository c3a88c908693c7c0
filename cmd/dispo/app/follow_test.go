package app_test

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/cmd/dispo/app"
	"dispo/domain"
	"dispo/projections"
)

var (
	_ app.Source   = (*boltlog.Log)(nil)
	_ app.Log      = (*boltlog.Log)(nil)
	_ app.Backuper = (*boltlog.Log)(nil)
	_ app.Sealer   = (*boltlog.Log)(nil)
)

// openLog is an embedded log holding a unit registered then declared n
// times, with a comment named marker among them if marker is not empty.
func openLog(t *testing.T, path string, n int, marker string) *boltlog.Log {
	t.Helper()
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	evs := []domain.Envelope{eventlogtest.Env(domain.UnitRegistered{Unit: domain.Unit{ID: "77-A-01", FINESS: "770000001",
		Establishment: "EG", Department: "77", Type: "udm", Name: "UDM"}})}
	evs = append(evs, eventlogtest.Declarations(n)...)
	if marker != "" {
		evs = append(evs[:3], append([]domain.Envelope{eventlogtest.Env(domain.CommentSet{Text: marker})}, evs[3:]...)...)
	}
	if _, err := l.Append(context.Background(), domain.UnitStream("77-A-01"), domain.NoStream, evs); err != nil {
		t.Fatal(err)
	}
	return l
}

// following runs Follow until the test ends or stop is called; stop checks
// that Follow returned its context's error, and returns the errors it
// reported.
func following(t *testing.T, live *projections.Live, src app.Source) (stop func() []error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var reported []error
	done := make(chan error, 1)
	go func() {
		done <- app.Follow(ctx, live, src, func(err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		})
	}()
	stopped := false
	stop = func() []error {
		t.Helper()
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Follow returned %v after its context was cancelled, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Follow did not return within 10s of its context being cancelled")
		}
		mu.Lock()
		defer mu.Unlock()
		return reported
	}
	t.Cleanup(func() { stop() })
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// flakySource breaks its first subscription after a few events, as a
// network log might: Follow must resume after the last event it applied.
type flakySource struct {
	*boltlog.Log
	breakAfter int
	mu         sync.Mutex
	afters     []uint64 // the position each subscription started after
}

func (s *flakySource) Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	s.mu.Lock()
	s.afters = append(s.afters, after)
	first := len(s.afters) == 1
	s.mu.Unlock()
	inner := s.Log.Subscribe(ctx, after)
	if !first {
		return inner
	}
	return func(yield func(domain.Envelope, error) bool) {
		n := 0
		for env, err := range inner {
			if err == nil && n == s.breakAfter {
				yield(domain.Envelope{}, errors.New("connection reset"))
				return
			}
			n++
			if !yield(env, err) {
				return
			}
		}
	}
}

func TestFollowResumesABrokenSubscription(t *testing.T) {
	log := openLog(t, filepath.Join(t.TempDir(), "events.db"), 20, "")
	src := &flakySource{Log: log, breakAfter: 7}
	live := projections.NewLive()
	stop := following(t, live, src)
	eventually(t, "Ready", live.Ready)
	if live.Position() != 21 {
		t.Fatalf("ready at position %d, want 21", live.Position())
	}
	errs := stop()
	if len(errs) != 1 || errs[0].Error() != "connection reset" {
		t.Fatalf("errors reported: %v, want the one connection reset", errs)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.afters) != 2 || src.afters[0] != 0 || src.afters[1] != 7 {
		t.Fatalf("subscriptions started after %v, want [0 7]", src.afters)
	}
}

// A record that cannot be read is retried, and reported, each time: the
// projections stay before it and never claim readiness.
func TestFollowStaysBeforeADamagedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	if err := openLog(t, path, 4, "marqueur-de-dommage").Close(); err != nil {
		t.Fatal(err)
	}
	eventlogtest.FlipEvery(t, path, "marqueur-de-dommage")
	log, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	live := projections.NewLive()
	stop := following(t, live, log)
	eventually(t, "the fold reaches the damaged record", func() bool {
		err := live.Readiness()
		return live.Position() == 3 && err != nil && strings.Contains(err.Error(), "position 4")
	})
	time.Sleep(200 * time.Millisecond) // past a resume or two
	if live.Ready() || live.Position() != 3 {
		t.Fatalf("ready %v at position %d past a damaged record at 4", live.Ready(), live.Position())
	}
	if errs := stop(); len(errs) < 2 {
		t.Fatalf("the damaged record was reported %d times, want once per resume", len(errs))
	}
}

// Projections ahead of the log (a snapshot of another one) are refused at
// once, not followed.
func TestFollowRefusesProjectionsAheadOfTheLog(t *testing.T) {
	live := projections.NewLive()
	env := eventlogtest.Env(domain.CommentSet{Text: "ailleurs"})
	env.Position, env.Stream = 5, domain.UnitStream("77-A-01")
	live.Apply(&env)
	empty, err := boltlog.Open(filepath.Join(t.TempDir(), "events.db"), boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	err = app.Follow(t.Context(), live, empty, nil)
	if err == nil || !strings.Contains(err.Error(), "past the log's head") {
		t.Fatalf("Follow of an empty log from position 5: %v, want an error", err)
	}
}
