package projections

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"dispo/domain"
)

// Live holds the projections that one writer folds the log into while many
// readers query them. The writer is a follower (cmd/dispo/app.Follow): it
// calls Begin with the log's head, then Apply for each event in log order,
// and Fail when the log cannot be read; Live tells readiness from that.
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
	target atomic.Uint64 // the log's head when Begin was called
	// broken is the error that stopped the fold, until an event is applied
	// past it: a record that cannot be read keeps it set for good.
	broken  atomic.Pointer[error]
	started atomic.Bool // Begin was called: Restore is too late
	waitMu  sync.Mutex
	advance chan struct{} // closed when the position moves
}

// NewLive returns an empty Live, at position 0.
func NewLive() *Live {
	t := NewTrends()
	return &Live{a: t.a, t: t, advance: make(chan struct{})}
}

// Begin tells l that its events come from a log whose head is now head:
// l is Ready once it has applied that far (at once if it already has).
// After Restore, the follower applies the events after Position; a
// position past head (an image of another log) is an error, and the
// caller should fold from 0 into a new Live.
func (l *Live) Begin(head uint64) error {
	l.started.Store(true)
	l.target.Store(head)
	if pos := l.pos.Load(); pos > head {
		return fmt.Errorf("projections: at position %d, past the log's head %d: the image restored is not of this log", pos, head)
	}
	if l.pos.Load() >= head {
		l.ready.Store(true)
	}
	return nil
}

// Apply folds env, the next event of the log (a redelivery is ignored),
// into the projections, and clears what Fail recorded: the log was read
// past it.
func (l *Live) Apply(env *domain.Envelope) {
	l.mu.Lock()
	l.t.Apply(env)
	l.keepCheckpoint(env)
	// Under the lock, so that Image sees them with the folds.
	l.pos.Store(l.a.Position())
	l.lastAt.Store(env.RecordedAt.UnixNano())
	l.mu.Unlock()
	l.waitMu.Lock()
	close(l.advance)
	l.advance = make(chan struct{})
	l.waitMu.Unlock()
	l.broken.Store(nil)
	if l.started.Load() && env.Position >= l.target.Load() {
		l.ready.Store(true)
	}
}

// Fail records that the log could not be read past Position: l is not Ready
// until an event is applied, and Readiness names err.
func (l *Live) Fail(err error) { l.broken.Store(&err) }

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
// was at Begin, with no Fail since the last event applied.
func (l *Live) Ready() bool { return l.Readiness() == nil }

// Readiness is nil when Ready, else why not: still catching up (with the
// positions), or the error that stops the fold (a record that cannot be
// read names its position) until an event is applied past it.
func (l *Live) Readiness() error {
	if p := l.broken.Load(); p != nil {
		return fmt.Errorf("les projections sont arrêtées à la position %d : %w", l.pos.Load(), *p)
	}
	if !l.ready.Load() {
		return fmt.Errorf("les projections rattrapent le journal : position %d sur %d", l.pos.Load(), l.target.Load())
	}
	return nil
}

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
