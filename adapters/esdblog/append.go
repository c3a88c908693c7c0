package esdblog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// part is one stream's part of an append, validated and encoded.
type part struct {
	stream   string
	expected domain.ExpectedRevision
	ids      []domain.EventID
	events   []esdb.EventData

	// Set as the part is written.
	answered bool // by the index, without writing
	result   domain.AppendResult
	landed   chan placed // told where the last event lands
	head     uint64      // the index's head when landed was registered
	headPos  allPos
	written  *esdb.WriteResult
}

// Append appends events to stream if the stream is at the expected revision
// (any, no stream, or exact), atomically (EventStoreDB writes one append as
// one transaction). Appending again events whose ids are stored at that
// place succeeds and writes nothing; the same ids elsewhere, or a revision
// mismatch, is a *domain.ConflictError carrying the stream's current
// revision. Invalid input is EInvalid and writes nothing.
//
// It returns once this replica's index has seen the events, so their
// positions are known and Head covers them. A server that cannot be reached
// within the deadline gives an *UnavailableError; the events may then be
// stored or not: retry with the same ids to find out.
func (l *Log) Append(ctx context.Context, stream string, expected domain.ExpectedRevision, events []domain.Envelope) (domain.AppendResult, error) {
	res, err := l.AppendBatch(ctx, []domain.AppendRequest{{Stream: stream, Expected: expected, Events: events}})
	if err != nil {
		return domain.AppendResult{}, err
	}
	return res[0], nil
}

// AppendBatch appends each part in order, part after part. EventStoreDB has
// no transaction across streams: unlike the embedded log, a batch is NOT
// atomic. If a part fails, the parts before it are stored and the error
// says which part failed; appending the whole batch again is safe, as the
// stored parts are recognised by their event ids (import relies on it).
// Every part is validated before anything is written; an event id may
// appear once in a batch.
func (l *Log) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	if len(reqs) == 0 {
		return nil, domain.Errorf(domain.EInvalid, "nothing to append")
	}
	if err := l.idx.err(); err != nil {
		return nil, err
	}
	parts := make([]part, len(reqs))
	seen := make(map[domain.EventID]bool)
	for i, q := range reqs {
		if err := encodePart(&parts[i], q, seen); err != nil {
			return nil, err
		}
	}
	failed := func(i int, err error) error {
		if len(parts) == 1 {
			return err
		}
		return fmt.Errorf("esdblog: batch part %d of %d (stream %s; the parts before it are stored): %w", i+1, len(parts), parts[i].stream, err)
	}
	defer func() {
		for i := range parts {
			if p := &parts[i]; p.landed != nil {
				l.idx.forget(p.ids[len(p.ids)-1], p.landed)
			}
		}
	}()
	for i := range parts {
		if err := l.write(ctx, &parts[i]); err != nil {
			return nil, failed(i, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, l.opts.CallTimeout)
	defer cancel()
	results := make([]domain.AppendResult, len(parts))
	for i := range parts {
		res, err := l.placeAppend(wctx, ctx, &parts[i])
		if err != nil {
			return nil, failed(i, err)
		}
		results[i] = res
	}
	return results, nil
}

// encodePart validates q as boltlog does and encodes its events.
func encodePart(p *part, q domain.AppendRequest, seen map[domain.EventID]bool) error {
	if !domain.ValidStream(q.Stream) {
		return domain.Errorf(domain.EInvalid, "invalid stream name %q", q.Stream)
	}
	if q.Expected < domain.AnyRevision {
		return domain.Errorf(domain.EInvalid, "invalid expected revision %d", q.Expected)
	}
	if len(q.Events) == 0 {
		return domain.Errorf(domain.EInvalid, "no events to append to %s", q.Stream)
	}
	*p = part{stream: q.Stream, expected: q.Expected, ids: make([]domain.EventID, len(q.Events)), events: make([]esdb.EventData, len(q.Events))}
	for i := range q.Events {
		env := q.Events[i]
		env.Stream = q.Stream
		if err := env.Validate(); err != nil {
			return err
		}
		if seen[env.ID] {
			return domain.Errorf(domain.EInvalid, "event id repeated within one append")
		}
		seen[env.ID] = true
		ev, err := encode(&env)
		if err != nil {
			return err
		}
		p.ids[i], p.events[i] = env.ID, ev
	}
	return nil
}

func expectedRevision(e domain.ExpectedRevision) esdb.ExpectedRevision {
	switch e {
	case domain.AnyRevision:
		return esdb.Any{}
	case domain.NoStream:
		return esdb.NoStream{}
	}
	return esdb.Revision(uint64(e))
}

// write answers p from the index if its events are among the newest ones
// indexed (a retry, or ids reused), else writes it to EventStoreDB.
func (l *Log) write(ctx context.Context, p *part) error {
	if res, ok, err := l.replayed(ctx, p); err != nil || ok {
		p.answered, p.result = ok, res
		return err
	}
	last := p.ids[len(p.ids)-1]
	p.landed, p.head, p.headPos = l.idx.expect(last)
	name := l.opts.Prefix + p.stream
	wr, err := call(l, ctx, "append to "+p.stream, func(ctx context.Context, c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, name, esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(p.expected)}, p.events...)
	})
	if current, known, ok := wrongExpected(err); ok {
		if !known {
			if current, err = l.currentRevision(ctx, p.stream); err != nil {
				return err
			}
		}
		return &domain.ConflictError{Stream: p.stream, Expected: p.expected, Actual: current}
	}
	if err != nil {
		return err
	}
	p.written = wr
	return nil
}

// replayed answers an append whose first id the index remembers, as the
// embedded log does: the original result if the whole append is stored at
// exactly that place, a conflict otherwise. An append whose other ids it
// remembers is a conflict. ok is false when the index remembers none.
func (l *Log) replayed(ctx context.Context, p *part) (res domain.AppendResult, ok bool, err error) {
	h := streamHash(p.stream)
	conflict := func(reason string) error {
		current, err := l.currentRevision(ctx, p.stream)
		if err != nil {
			return err
		}
		return &domain.ConflictError{Stream: p.stream, Expected: p.expected, Actual: current, Reason: reason}
	}
	first, found := l.idx.lookup(p.ids[0])
	if !found {
		for _, id := range p.ids[1:] {
			if _, found := l.idx.lookup(id); found {
				return res, false, conflict("an event id of this append is already stored elsewhere")
			}
		}
		return res, false, nil
	}
	if first.stream != h {
		return res, false, conflict("an event id of this append is already stored in another stream")
	}
	if p.expected != domain.AnyRevision && int64(p.expected)+1 != int64(first.revision) {
		return res, false, conflict("")
	}
	for i, id := range p.ids {
		pl, found := l.idx.lookup(id)
		if !found || pl.stream != h || pl.revision != first.revision+uint64(i) || pl.position != first.position+uint64(i) {
			return res, false, conflict("append partly stored already")
		}
	}
	n := uint64(len(p.ids))
	return domain.AppendResult{FirstPosition: first.position, LastPosition: first.position + n - 1, Revision: int64(first.revision + n - 1)}, true, nil
}

// placeAppend returns the result of a written part once the index has its
// events. wctx bounds the wait; ctx is the caller's.
func (l *Log) placeAppend(wctx, ctx context.Context, p *part) (domain.AppendResult, error) {
	if p.answered {
		return p.result, nil
	}
	n := uint64(len(p.ids))
	rev := p.written.NextExpectedVersion
	last := p.ids[n-1]
	h := streamHash(p.stream)
	result := func(pl placed) domain.AppendResult {
		return domain.AppendResult{FirstPosition: pl.position - n + 1, LastPosition: pl.position, Revision: int64(rev)}
	}
	if pl, ok := l.idx.lookup(last); ok && pl.stream == h && pl.revision == rev {
		return result(pl), nil
	}
	// A write at a position the index has not reached is new (or not yet
	// indexed): the indexer tells where it lands. Otherwise (an idempotent
	// write the index saw long ago, or a server that gives no position) ask
	// the server where the last event is.
	wp := allPos{p.written.CommitPosition, p.written.PreparePosition}
	if p.head == 0 || wp.after(p.headPos) {
		select {
		case pl := <-p.landed:
			if pl.stream == h && pl.revision == rev {
				return result(pl), nil
			}
		case <-wctx.Done():
			return domain.AppendResult{}, l.notIndexed(ctx, p, wctx.Err())
		case <-l.base.Done():
			return domain.AppendResult{}, ErrClosed
		}
	}
	pos, err := l.locate(wctx, p.stream, rev, last)
	if err != nil {
		if wctx.Err() != nil {
			return domain.AppendResult{}, l.notIndexed(ctx, p, err)
		}
		return domain.AppendResult{}, err
	}
	return result(placed{position: pos}), nil
}

func (l *Log) notIndexed(ctx context.Context, p *part, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	if e := l.idx.err(); e != nil {
		return e
	}
	return &UnavailableError{Op: "append to " + p.stream + ": stored, but not indexed in time (retry with the same ids for its positions)", Err: err}
}

// locate returns the position of the event at revision rev of stream, which
// must have id id: it reads the event's $all position from the stream, waits
// for the index to reach it, and looks it up.
func (l *Log) locate(ctx context.Context, stream string, rev uint64, id domain.EventID) (uint64, error) {
	evs, err := l.readRaw(ctx, stream, esdb.Forwards, esdb.Revision(rev), 1)
	if err != nil {
		return 0, err
	}
	if len(evs) != 1 || domain.EventID(evs[0].EventID) != id {
		return 0, fmt.Errorf("esdblog: the event just appended to %s at revision %d is not there", stream, rev)
	}
	return l.ordinalOf(ctx, evs[0])
}

// ordinalOf returns the dispo position of a recorded event, waiting for the
// index to reach it.
func (l *Log) ordinalOf(ctx context.Context, ev *esdb.RecordedEvent) (uint64, error) {
	p := posOf(ev.Position)
	if p == (allPos{}) || p.commit == math.MaxUint64 {
		// Nodes before 22.6 do not tell the $all position of events read
		// from a stream.
		return 0, fmt.Errorf("esdblog: the server gave no $all position for %s at revision %d (EventStoreDB 22.6 or later is needed)", ev.StreamID, ev.EventNumber)
	}
	if !l.idx.covers(p) {
		if err := l.idx.waitFor(ctx, func() bool { return l.idx.covers(p) }); err != nil {
			return 0, err
		}
	}
	o, ok := l.idx.ordinal(p)
	if !ok {
		return 0, fmt.Errorf("esdblog: %s at revision %d ($all %d/%d) is not in the index", ev.StreamID, ev.EventNumber, p.commit, p.prepare)
	}
	return o, nil
}

// currentRevision returns the revision of stream's last event, or
// NoStreamRevision if it has none.
func (l *Log) currentRevision(ctx context.Context, stream string) (int64, error) {
	evs, err := l.readRaw(ctx, stream, esdb.Backwards, esdb.End{}, 1)
	if errors.Is(err, errNotFound) {
		return domain.NoStreamRevision, nil
	}
	if err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return domain.NoStreamRevision, nil
	}
	return int64(evs[0].EventNumber), nil
}

// readRaw reads up to count events of dispo stream stream. A stream that
// does not exist gives errNotFound.
func (l *Log) readRaw(ctx context.Context, stream string, dir esdb.Direction, from esdb.StreamPosition, count uint64) ([]*esdb.RecordedEvent, error) {
	name := l.opts.Prefix + stream
	evs, err := call(l, ctx, "read "+stream, func(ctx context.Context, c *esdb.Client) ([]*esdb.RecordedEvent, error) {
		rs, err := c.ReadStream(ctx, name, esdb.ReadStreamOptions{Direction: dir, From: from}, count)
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		var out []*esdb.RecordedEvent
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if isNotFound(err) {
				return nil, errNotFound
			}
			if err != nil {
				return nil, err
			}
			if e := ev.OriginalEvent(); e != nil {
				out = append(out, e)
			}
		}
	})
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("stream %s: %w", stream, errNotFound)
	}
	return evs, err
}
