package projections

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"dispo/domain"
)

// Source is what Live needs of an event log: the head, and a subscription
// that catches up from a position then follows new events.
type Source interface {
	Head(ctx context.Context) (uint64, error)
	Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// Live keeps the projections current by following the log, and lets many
// readers query them while one writer applies events.
type Live struct {
	mu sync.RWMutex
	a  *Availability
	// t is the trends fold; it folds a as well (a is t's Availability), so
	// one Apply keeps both.
	t *Trends
	// checkpoints are copies of a every checkpointEvery events, for AsOf.
	checkpoints []checkpoint

	pos    atomic.Uint64
	lastAt atomic.Int64 // recorded-at of the last event applied, Unix ns
	ready  atomic.Bool
	target atomic.Uint64 // the log's head when Follow started
	// broken is the error that stopped the fold, until an event is applied
	// past it: a record that cannot be read keeps it set for good.
	broken  atomic.Pointer[error]
	started atomic.Bool // Follow was called: ReadSnapshot is too late
	waitMu  sync.Mutex
	advance chan struct{} // closed when the position moves
}

// NewLive returns an empty Live, at position 0.
func NewLive() *Live {
	t := NewTrends()
	return &Live{a: t.a, t: t, advance: make(chan struct{})}
}

// Follow applies the events of src until ctx ends: first those already
// stored (Ready turns true once it reaches the head seen when it started),
// then each new one. A broken subscription is resumed from the position
// reached, after a pause, so no event is missed or applied twice. After
// ReadSnapshot it starts after the snapshot's position; a position past the
// log's head (a snapshot of another log) is an error, and the caller should
// fold from 0 into a new Live.
func (l *Live) Follow(ctx context.Context, src Source, onError func(error)) error {
	l.started.Store(true)
	target, err := src.Head(ctx)
	if err != nil {
		l.setBroken(err)
		return err
	}
	l.target.Store(target)
	if pos := l.pos.Load(); pos > target {
		return fmt.Errorf("projections: at position %d, past the log's head %d: the snapshot read is not of this log", pos, target)
	}
	if l.pos.Load() >= target {
		l.ready.Store(true)
	}
	backoff := 50 * time.Millisecond
	for {
		for env, err := range src.Subscribe(ctx, l.pos.Load()) {
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				l.setBroken(err)
				if onError != nil {
					onError(err)
				}
				break
			}
			l.apply(&env)
			l.broken.Store(nil)
			if env.Position >= target {
				l.ready.Store(true)
			}
			backoff = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (l *Live) apply(env *domain.Envelope) {
	l.mu.Lock()
	l.t.Apply(env)
	l.keepCheckpoint(env)
	// Under the lock, so that WriteSnapshot sees them with the folds.
	l.pos.Store(l.a.Position())
	l.lastAt.Store(env.RecordedAt.UnixNano())
	l.mu.Unlock()
	l.waitMu.Lock()
	close(l.advance)
	l.advance = make(chan struct{})
	l.waitMu.Unlock()
}

// Position is the position of the last event applied.
func (l *Live) Position() uint64 { return l.pos.Load() }

// LastChange is when the last event applied was recorded (zero before any).
func (l *Live) LastChange() time.Time {
	if ns := l.lastAt.Load(); ns != 0 {
		return time.Unix(0, ns).UTC()
	}
	return time.Time{}
}

// Ready reports whether the projections have caught up with the log as it
// was when Follow started, and follow it since without error.
func (l *Live) Ready() bool { return l.Readiness() == nil }

// Readiness is nil when Ready, else why not: still catching up (with the
// positions), or the error that stops the fold (a record that cannot be
// read names its position) until an event is applied past it.
func (l *Live) Readiness() error {
	if p := l.broken.Load(); p != nil {
		return fmt.Errorf("projections stopped at position %d: %w", l.pos.Load(), *p)
	}
	if !l.ready.Load() {
		return fmt.Errorf("projections are catching up with the log: at position %d of %d", l.pos.Load(), l.target.Load())
	}
	return nil
}

func (l *Live) setBroken(err error) { l.broken.Store(&err) }

// View runs fn with the projections read-locked. fn must not keep a; the
// views it returns are copies and may be kept.
func (l *Live) View(fn func(a *Availability)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	fn(l.a)
}

// ViewTrends runs fn with the trends fold read-locked, at the same position
// as the Availability that View shows. fn must not keep t.
func (l *Live) ViewTrends(fn func(t *Trends)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	fn(l.t)
}

// WaitFor returns once the projections reached position pos, or ctx's
// error if it ends first: a client that wrote at pos reads its own write.
func (l *Live) WaitFor(ctx context.Context, pos uint64) error {
	for {
		l.waitMu.Lock()
		ch := l.advance
		l.waitMu.Unlock()
		if l.pos.Load() >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
