package esdblog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"

	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// ReadStreamForward returns the events of stream from revision from on, at
// most max of them (all if max <= 0). A stream with no event is ENotFound.
func (l *Log) ReadStreamForward(ctx context.Context, stream string, from uint64, max int) ([]domain.Envelope, error) {
	return l.readStream(ctx, stream, esdb.Forwards, esdb.Revision(from), max)
}

// ReadStreamBackward returns the events of stream from revision from down to
// 0, newest first, at most max (all if max <= 0); from < 0, or past the end,
// starts at the end. A stream with no event is ENotFound.
func (l *Log) ReadStreamBackward(ctx context.Context, stream string, from int64, max int) ([]domain.Envelope, error) {
	var start esdb.StreamPosition = esdb.End{}
	if from >= 0 {
		start = esdb.Revision(uint64(from))
	}
	evs, err := l.readStream(ctx, stream, esdb.Backwards, start, max)
	if err == nil && len(evs) == 0 && from >= 0 {
		// The stream exists: from was past its end.
		return l.readStream(ctx, stream, esdb.Backwards, esdb.End{}, max)
	}
	return evs, err
}

func (l *Log) readStream(ctx context.Context, stream string, dir esdb.Direction, from esdb.StreamPosition, max int) ([]domain.Envelope, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	if !domain.ValidStream(stream) {
		return nil, domain.Errorf(domain.EInvalid, "invalid stream name %q", stream)
	}
	count := uint64(math.MaxInt64)
	if max > 0 {
		count = uint64(max)
	}
	evs, err := l.readRaw(ctx, stream, dir, from, count)
	if errors.Is(err, errNotFound) {
		return nil, domain.Errorf(domain.ENotFound, "stream %s not found", stream)
	}
	if err != nil {
		return nil, err
	}
	// Positions come from the index; an event another replica just appended
	// may need a moment to reach it.
	wctx, cancel := context.WithTimeout(ctx, l.opts.CallTimeout)
	defer cancel()
	out := make([]domain.Envelope, len(evs))
	for i, ev := range evs {
		pos, ok := l.idx.ordinal(posOf(ev.Position))
		if !ok {
			if pos, err = l.ordinalOf(wctx, ev); err != nil {
				if wctx.Err() != nil && ctx.Err() == nil {
					return nil, &UnavailableError{Op: "read " + stream + ": event not indexed in time", Err: err}
				}
				return nil, err
			}
		}
		if out[i], err = decode(ev, stream, pos); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadAll yields every event after position after, in position order, up to
// the head at the time of the call. It stops at the first error; transient
// failures are retried (resuming after the last event yielded) up to
// MaxRetries times in a row, then yield an *UnavailableError.
func (l *Log) ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		until, err := l.Head(ctx)
		if err != nil {
			yield(domain.Envelope{}, err)
			return
		}
		if after >= until {
			return
		}
		l.readAfter(ctx, after, until, yield)
	}
}

// Subscribe yields every event after position after: those stored first
// (catch-up), then each new one as it is committed (live). A subscription
// that drops (the server restarts, falls over to another node, or drops a
// slow reader) is opened again after the last event yielded, with backoff,
// for as long as it takes: no event is skipped or yielded twice. It ends when
// ctx ends (yielding ctx.Err()), at Close (ErrClosed), or on a failure that
// retrying cannot mend (an event it cannot decode, an index that no longer
// matches $all, access denied, a server that does not know the request).
func (l *Log) Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		l.readAfter(ctx, after, 0, yield)
	}
}

// readAfter yields the events after position cur, up to until (0: forever).
func (l *Log) readAfter(ctx context.Context, cur, until uint64, yield func(domain.Envelope, error) bool) {
	var curPos *allPos // the $all position of cur, once seen
	backoff := l.opts.RetryBackoff
	failures := 0
	for {
		switch {
		case l.isClosed():
			yield(domain.Envelope{}, ErrClosed)
			return
		case ctx.Err() != nil:
			yield(domain.Envelope{}, ctx.Err())
			return
		}
		if err := l.idx.err(); err != nil {
			yield(domain.Envelope{}, err)
			return
		}
		from, ord := l.startAt(cur, curPos)
		sub, stop, err := l.openSub(ctx, from)
		if err == nil {
			r := reader{l: l, from: from, ord: ord, cur: cur, curPos: curPos, until: until}
			err = r.run(sub, yield)
			stop()
			if r.cur > cur {
				cur, curPos, failures, backoff = r.cur, r.curPos, 0, l.opts.RetryBackoff
			}
			if r.stopped || until > 0 && cur >= until {
				return
			}
		}
		switch {
		case l.isClosed():
			yield(domain.Envelope{}, ErrClosed)
			return
		case ctx.Err() != nil:
			yield(domain.Envelope{}, ctx.Err())
			return
		case errors.Is(err, errUnmendable):
			yield(domain.Envelope{}, err)
			return
		case permanent(err):
			yield(domain.Envelope{}, fmt.Errorf("esdblog: subscribing to $all: %w", err))
			return
		}
		failures++
		if until > 0 && failures > l.opts.MaxRetries {
			yield(domain.Envelope{}, &UnavailableError{Op: fmt.Sprintf("read $all after %d", cur), Err: err})
			return
		}
		l.opts.Logger.Info("esdblog: subscription dropped; resuming", "after", cur, "err", err, "backoff", backoff)
		if !l.sleep(ctx, backoff) {
			continue // the checks above say why
		}
		backoff = min(2*backoff, l.opts.MaxBackoff)
	}
}

// startAt returns where to subscribe to deliver the events after position
// cur: a $all position (nil: the start) and the dispo position of the event
// there. It is cur itself when the index has it; beyond the index's head,
// the head, and the reader skips up to cur.
func (l *Log) startAt(cur uint64, curPos *allPos) (*allPos, uint64) {
	if curPos != nil {
		return curPos, cur
	}
	if cur == 0 {
		return nil, 0
	}
	if p, ok := l.idx.position(cur); ok {
		return &p, cur
	}
	head, last, _ := l.idx.state()
	if head == 0 {
		return nil, 0
	}
	return &last, head
}

// errUnmendable marks failures that retrying would repeat.
var errUnmendable = errors.New("esdblog: cannot go on reading $all")

// reader delivers one subscription's events.
type reader struct {
	l       *Log
	from    *allPos // where the subscription starts (excluded)
	ord     uint64  // dispo position of the event at from
	cur     uint64  // last position yielded (or to skip up to)
	curPos  *allPos
	until   uint64
	stopped bool // the consumer stopped
}

func (r *reader) run(sub *esdb.Subscription, yield func(domain.Envelope, error) bool) error {
	prefix := r.l.opts.Prefix
	for {
		se := sub.Recv()
		if se.SubscriptionDropped != nil {
			if se.SubscriptionDropped.Error == nil {
				return errors.New("esdblog: subscription dropped")
			}
			return se.SubscriptionDropped.Error
		}
		if se.EventAppeared == nil {
			continue
		}
		ev := se.EventAppeared.OriginalEvent()
		if ev == nil || !strings.HasPrefix(ev.StreamID, prefix) {
			continue
		}
		p := posOf(ev.Position)
		if r.from != nil && !p.after(*r.from) {
			continue // the server counted from as included
		}
		r.ord++
		r.from = &p
		if bp, ok := r.l.idx.blockFirst(r.ord); ok && bp != p {
			return fmt.Errorf("%w: position %d is at $all %d/%d, the index says %d/%d: were events of dispo streams deleted or scavenged?",
				errUnmendable, r.ord, p.commit, p.prepare, bp.commit, bp.prepare)
		}
		if r.ord <= r.cur {
			continue
		}
		env, err := decode(ev, ev.StreamID[len(prefix):], r.ord)
		if err != nil {
			return fmt.Errorf("%w: %w", errUnmendable, err)
		}
		if !yield(env, nil) {
			r.stopped = true
			return nil
		}
		r.cur, r.curPos = r.ord, &p
		if r.until > 0 && r.cur >= r.until {
			return nil
		}
	}
}
