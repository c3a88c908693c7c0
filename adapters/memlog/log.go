package memlog

import (
	"context"
	"errors"
	"iter"
	"reflect"
	"slices"
	"sync"

	"dispo/domain"
)

// ErrClosed: the log was closed.
var ErrClosed = errors.New("memlog: log closed")

// Log is an event log in memory. Safe for concurrent use.
type Log struct {
	mu      sync.RWMutex
	events  []domain.Envelope         // the event at position p is events[p-1]
	streams map[string][]uint64       // each stream's positions, by revision
	ids     map[domain.EventID]uint64 // the position of every stored id
	notify  chan struct{}             // closed and replaced at each append: wakes subscribers
	closed  bool
}

// New returns an empty log.
func New() *Log {
	return &Log{streams: make(map[string][]uint64), ids: make(map[domain.EventID]uint64), notify: make(chan struct{})}
}

// Close ends subscriptions (with ErrClosed) and refuses what follows.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.notify)
	}
	return nil
}

// Head returns the position of the last event (0 for an empty log).
func (l *Log) Head(ctx context.Context) (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.usable(ctx); err != nil {
		return 0, err
	}
	return uint64(len(l.events)), nil
}

// usable says why an operation cannot run, if it cannot; l.mu is held.
func (l *Log) usable(ctx context.Context) error {
	if l.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// Append appends events to stream if the stream is at the expected
// revision, atomically. Appending again events whose ids are stored at
// that very place succeeds and stores nothing; the same ids elsewhere, or
// a revision mismatch, is a *domain.ConflictError carrying the current
// revision. The log sets Position and Revision, and Stream to stream.
func (l *Log) Append(ctx context.Context, stream string, expected domain.ExpectedRevision, events []domain.Envelope) (domain.AppendResult, error) {
	res, err := l.AppendBatch(ctx, []domain.AppendRequest{{Stream: stream, Expected: expected, Events: events}})
	if err != nil {
		return domain.AppendResult{}, err
	}
	return res[0], nil
}

// AppendBatch appends every part or none, in order: two parts may target
// the same stream.
func (l *Log) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, error) {
	if len(reqs) == 0 {
		return nil, domain.Errorf(domain.EInvalid, "nothing to append")
	}
	parts := make([]domain.AppendRequest, len(reqs))
	for i, q := range reqs {
		p, err := own(q)
		if err != nil {
			return nil, err
		}
		parts[i] = p
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(ctx); err != nil {
		return nil, err
	}
	before := len(l.events)
	out := make([]domain.AppendResult, len(parts))
	for i := range parts {
		res, err := l.appendPart(&parts[i])
		if err != nil {
			l.truncate(before)
			return nil, err
		}
		out[i] = res
	}
	if len(l.events) > before {
		close(l.notify)
		l.notify = make(chan struct{})
	}
	return out, nil
}

// own validates a part and copies its envelopes, so that the caller keeps
// no hold on what is stored.
func own(q domain.AppendRequest) (domain.AppendRequest, error) {
	if !domain.ValidStream(q.Stream) {
		return q, domain.Errorf(domain.EInvalid, "invalid stream name %q", q.Stream)
	}
	if q.Expected < domain.AnyRevision {
		return q, domain.Errorf(domain.EInvalid, "invalid expected revision %d", q.Expected)
	}
	if len(q.Events) == 0 {
		return q, domain.Errorf(domain.EInvalid, "no events to append to %s", q.Stream)
	}
	evs := make([]domain.Envelope, len(q.Events))
	seen := make(map[domain.EventID]bool, len(evs))
	for i, env := range q.Events {
		env.Stream = q.Stream
		if err := env.Validate(); err != nil {
			return q, err
		}
		if seen[env.ID] {
			return q, domain.Errorf(domain.EInvalid, "event id repeated within one append")
		}
		seen[env.ID] = true
		// A pointer would let its holder change the stored event.
		if reflect.TypeOf(env.Event).Kind() == reflect.Pointer {
			return q, domain.Errorf(domain.EInvalid, "event type %T cannot be stored", env.Event)
		}
		if env.SchemaVersion == 0 {
			env.SchemaVersion = domain.CurrentSchema(env.Type())
		}
		env.RecordedAt = env.RecordedAt.UTC()
		env.Event = inUTC(env.Event)
		evs[i] = clone(env)
	}
	q.Events = evs
	return q, nil
}

// inUTC gives e's instants as the durable logs give them back.
func inUTC(e domain.Event) domain.Event {
	if c, ok := e.(domain.UnitClosed); ok {
		c.Start, c.PlannedEnd = c.Start.UTC(), c.PlannedEnd.UTC()
		return c
	}
	return e
}

// clone copies what an envelope shares with its copies: events are
// values, and only a seal holds a slice.
func clone(env domain.Envelope) domain.Envelope {
	if s, ok := env.Event.(domain.LogSealed); ok {
		s.Heads = slices.Clone(s.Heads)
		env.Event = s
	}
	return env
}

// appendPart checks one part against the log and stores it; l.mu is held.
func (l *Log) appendPart(p *domain.AppendRequest) (domain.AppendResult, error) {
	current := int64(len(l.streams[p.Stream])) - 1 // NoStreamRevision for a new stream
	conflict := func(reason string) error {
		return &domain.ConflictError{Stream: p.Stream, Expected: p.Expected, Actual: current, Reason: reason}
	}
	if pos, ok := l.ids[p.Events[0].ID]; ok {
		return l.replayed(p, pos, conflict)
	}
	for _, env := range p.Events[1:] {
		if _, ok := l.ids[env.ID]; ok {
			return domain.AppendResult{}, conflict("an event id of this append is already stored elsewhere")
		}
	}
	if p.Expected != domain.AnyRevision && int64(p.Expected) != current {
		return domain.AppendResult{}, conflict("")
	}
	res := domain.AppendResult{FirstPosition: uint64(len(l.events)) + 1}
	for _, env := range p.Events {
		env.Position, env.Revision = uint64(len(l.events))+1, uint64(len(l.streams[p.Stream]))
		l.events = append(l.events, env)
		l.streams[p.Stream] = append(l.streams[p.Stream], env.Position)
		l.ids[env.ID] = env.Position
		res.LastPosition, res.Revision = env.Position, int64(env.Revision)
	}
	return res, nil
}

// replayed answers a part whose first id is stored: success if the whole
// part is stored at exactly that place, a conflict otherwise.
func (l *Log) replayed(p *domain.AppendRequest, firstPos uint64, conflict func(string) error) (domain.AppendResult, error) {
	first := &l.events[firstPos-1]
	if first.Stream != p.Stream {
		return domain.AppendResult{}, conflict("an event id of this append is already stored in another stream")
	}
	if p.Expected != domain.AnyRevision && int64(p.Expected)+1 != int64(first.Revision) {
		return domain.AppendResult{}, conflict("")
	}
	res := domain.AppendResult{FirstPosition: firstPos}
	for i, env := range p.Events {
		pos, ok := l.ids[env.ID]
		if !ok {
			return domain.AppendResult{}, conflict("append partly stored already")
		}
		stored := &l.events[pos-1]
		if stored.Stream != p.Stream || stored.Revision != first.Revision+uint64(i) {
			return domain.AppendResult{}, conflict("append partly stored already")
		}
		res.LastPosition, res.Revision = pos, int64(stored.Revision)
	}
	return res, nil
}

// truncate drops the events past position n, undoing a batch a later part
// of which was refused; l.mu is held.
func (l *Log) truncate(n int) {
	for _, env := range l.events[n:] {
		delete(l.ids, env.ID)
		if revs := l.streams[env.Stream]; len(revs) == 1 {
			delete(l.streams, env.Stream)
		} else {
			l.streams[env.Stream] = revs[:len(revs)-1]
		}
	}
	l.events = l.events[:n]
}

// ReadStreamForward returns the events of stream from revision from on, at
// most max of them (all if max <= 0). A stream with no event is ENotFound.
func (l *Log) ReadStreamForward(ctx context.Context, stream string, from uint64, max int) ([]domain.Envelope, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	revs, err := l.stream(ctx, stream)
	if err != nil || from >= uint64(len(revs)) {
		return nil, err
	}
	revs = revs[from:]
	if max > 0 && max < len(revs) {
		revs = revs[:max]
	}
	out := make([]domain.Envelope, len(revs))
	for i, pos := range revs {
		out[i] = clone(l.events[pos-1])
	}
	return out, nil
}

// ReadStreamBackward returns the events of stream from revision from down
// to 0, newest first, at most max (all if max <= 0); from < 0 starts at the
// end. A stream with no event is ENotFound.
func (l *Log) ReadStreamBackward(ctx context.Context, stream string, from int64, max int) ([]domain.Envelope, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	revs, err := l.stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	if from >= 0 && from < int64(len(revs)) {
		revs = revs[:from+1]
	}
	if max > 0 && max < len(revs) {
		revs = revs[len(revs)-max:]
	}
	out := make([]domain.Envelope, len(revs))
	for i, pos := range revs {
		out[len(out)-1-i] = clone(l.events[pos-1])
	}
	return out, nil
}

// stream returns the positions of stream's events; l.mu is held.
func (l *Log) stream(ctx context.Context, stream string) ([]uint64, error) {
	if err := l.usable(ctx); err != nil {
		return nil, err
	}
	if !domain.ValidStream(stream) {
		return nil, domain.Errorf(domain.EInvalid, "invalid stream name %q", stream)
	}
	revs, ok := l.streams[stream]
	if !ok {
		return nil, domain.Errorf(domain.ENotFound, "stream %s not found", stream)
	}
	return revs, nil
}

// snapshot returns the events after position after, the channel the next
// append closes, and why nothing more can be read, if so.
//
// The events returned are read without the lock: appends only write past
// the head, and a refused batch is undone before the lock is released, so
// the slice up to the head never changes.
func (l *Log) snapshot(ctx context.Context, after uint64) ([]domain.Envelope, <-chan struct{}, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.usable(ctx); err != nil {
		return nil, nil, err
	}
	return l.events[min(after, uint64(len(l.events))):], l.notify, nil
}

// ReadAll yields every event after position after, in position order, up
// to the head when the iteration starts.
func (l *Log) ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		evs, _, err := l.snapshot(ctx, after)
		if err != nil {
			yield(domain.Envelope{}, err)
			return
		}
		for i := range evs {
			if !yield(clone(evs[i]), nil) {
				return
			}
		}
	}
}

// Subscribe yields every event after position after: first those stored,
// then each new one as it is appended. It ends when ctx ends (yielding
// ctx.Err()) or the log closes (ErrClosed).
func (l *Log) Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		for {
			evs, changed, err := l.snapshot(ctx, after)
			if err != nil {
				yield(domain.Envelope{}, err)
				return
			}
			for i := range evs {
				if !yield(clone(evs[i]), nil) {
					return
				}
			}
			if len(evs) > 0 {
				after = evs[len(evs)-1].Position
				continue
			}
			select {
			case <-changed:
			case <-ctx.Done():
				yield(domain.Envelope{}, ctx.Err())
				return
			}
		}
	}
}
