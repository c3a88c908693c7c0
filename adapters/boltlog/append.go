package boltlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"dispo/domain"
	bolt "go.etcd.io/bbolt"
)

type appendReq struct {
	parts   []part
	seal    *domain.Envelope // a seal to complete and append, alone (see Seal)
	atomic  bool             // several parts, or a seal: all or nothing, in a transaction of its own
	results []domain.AppendResult
	err     error
	done    chan struct{}
}

type part struct {
	stream   string
	expected domain.ExpectedRevision
	ids      []domain.EventID
	records  [][]byte
}

// Append appends events to stream if the stream is at the expected revision,
// atomically. Appending again events whose ids are already stored at that
// place succeeds and writes nothing (a retry never doubles an event); the
// same ids elsewhere, or a revision mismatch, is a *domain.ConflictError
// carrying the current revision. It returns once the events are on disk.
//
// The log sets Position and Revision; every other field of the envelopes is
// stored as given (Stream is forced to stream).
//
// If ctx ends while the commit is in flight, Append returns ctx.Err() and the
// events may or may not be stored: retry with the same ids to find out.
func (l *Log) Append(ctx context.Context, stream string, expected domain.ExpectedRevision, events []domain.Envelope) (domain.AppendResult, error) {
	res, err := l.AppendBatch(ctx, []domain.AppendRequest{{Stream: stream, Expected: expected, Events: events}})
	if err != nil {
		return domain.AppendResult{}, err
	}
	return res[0], nil
}

// AppendBatch appends to several streams in one transaction: all parts are
// stored or none is. Parts apply in order, so two parts may target the same
// stream. Import uses it so that positions follow the imported file.
func (l *Log) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, error) {
	if l.opts.ReadOnly {
		return nil, fmt.Errorf("boltlog: %s is open read-only", l.Path())
	}
	if len(reqs) == 0 {
		return nil, domain.Errorf(domain.EInvalid, "nothing to append")
	}
	r := &appendReq{parts: make([]part, len(reqs)), atomic: len(reqs) > 1, done: make(chan struct{})}
	for i, q := range reqs {
		p, err := encodePart(q)
		if err != nil {
			return nil, err
		}
		r.parts[i] = p
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case l.reqs <- r:
	case <-l.quit:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.done:
		return r.results, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.finished:
		// The committer stopped; it answers everything it took before that.
		select {
		case <-r.done:
			return r.results, r.err
		default:
			return nil, ErrClosed
		}
	}
}

// encodePart validates and encodes outside the commit, in the caller's
// goroutine, so the committer only looks things up and writes.
func encodePart(q domain.AppendRequest) (part, error) {
	if !domain.ValidStream(q.Stream) {
		return part{}, domain.Errorf(domain.EInvalid, "invalid stream name %q", q.Stream)
	}
	if q.Expected < domain.AnyRevision {
		return part{}, domain.Errorf(domain.EInvalid, "invalid expected revision %d", q.Expected)
	}
	if len(q.Events) == 0 {
		return part{}, domain.Errorf(domain.EInvalid, "no events to append to %s", q.Stream)
	}
	p := part{stream: q.Stream, expected: q.Expected, ids: make([]domain.EventID, len(q.Events)), records: make([][]byte, len(q.Events))}
	seen := make(map[domain.EventID]bool, len(q.Events))
	for i := range q.Events {
		env := q.Events[i]
		env.Stream = q.Stream
		if err := env.Validate(); err != nil {
			return part{}, err
		}
		if seen[env.ID] {
			return part{}, domain.Errorf(domain.EInvalid, "event id repeated within one append")
		}
		seen[env.ID] = true
		rec, err := encodeRecord(nil, &env)
		if err != nil {
			return part{}, err
		}
		p.ids[i], p.records[i] = env.ID, rec
	}
	return p, nil
}

// commitLoop is the group commit: it takes every request waiting, writes
// them in one transaction, syncs once, then answers them all. While it syncs,
// new requests queue and form the next group, so batches grow with load and
// a lone appender pays no added delay (bbolt's own Batch waits for a timer).
func (l *Log) commitLoop() {
	defer close(l.finished)
	// A leaf page only read now may be damaged: see update.
	debug.SetPanicOnFault(true)
	var group []*appendReq
	for {
		group = group[:0]
		select {
		case r := <-l.reqs:
			group = append(group, r)
		case <-l.quit:
			l.drain()
			return
		}
		if group[0].atomic {
			l.commit(group)
			continue
		}
		n := len(group[0].parts[0].ids)
	gather:
		for n < l.opts.MaxBatchEvents {
			select {
			case r := <-l.reqs:
				if r.atomic {
					l.commit(group)
					group = append(group[:0], r)
					break gather
				}
				group = append(group, r)
				n += len(r.parts[0].ids)
			default:
				break gather
			}
		}
		l.commit(group)
	}
}

// drain fails what is still queued at Close.
func (l *Log) drain() {
	for {
		select {
		case r := <-l.reqs:
			r.err = ErrClosed
			close(r.done)
		default:
			return
		}
	}
}

func (l *Log) commit(group []*appendReq) {
	if why := l.stopped.Load(); why != nil {
		for _, r := range group {
			r.err = &StoppedError{*why}
			close(r.done)
		}
		return
	}
	var newHead uint64
	var refused error // an atomic request's refusal, which rolls its transaction back
	overlay := make(map[string]head)
	checkpointed := false
	err := l.update(func(tx *bolt.Tx) error {
		if l.marked { // the file is open again: no longer cleanly closed
			if err := tx.Bucket(bucketMeta).Delete(keyClosed); err != nil {
				return err
			}
		}
		w := writer{events: tx.Bucket(bucketEvents), ids: tx.Bucket(bucketIDs), heads: &l.heads, overlay: overlay, dec: newDecoder()}
		// Positions only grow: full pages halve the pages a commit writes.
		w.events.FillPercent = 1.0
		for _, r := range group {
			if r.seal != nil {
				p, err := w.sealPart(r.seal)
				if err != nil {
					refused = err
					return err
				}
				r.parts = []part{p}
			}
			r.results = make([]domain.AppendResult, len(r.parts))
			for i := range r.parts {
				res, err := w.appendPart(&r.parts[i])
				var se storageError
				switch {
				case errors.As(err, &se):
					return se.err // the transaction is unusable: fail the group
				case err != nil && r.atomic:
					refused = err
					return err
				case err != nil:
					r.err = err
				}
				if err != nil {
					break
				}
				r.results[i] = res
			}
		}
		newHead = w.events.Sequence()
		if newHead-l.checkpointed >= checkpointEvery {
			checkpointed = true
			return checkpoint(tx, &l.heads, overlay, l.dirty)
		}
		return nil
	})
	for _, r := range group {
		switch {
		case refused != nil:
			r.err = refused
		case noRoom(err):
			r.err = unavailableError{fmt.Errorf("boltlog: commit: no room left on the device of %s: %w", l.db.Path(), err)}
		case err != nil:
			r.err = fmt.Errorf("boltlog: commit: %w", err)
		}
		if r.err != nil {
			r.results = nil
		}
	}
	if err != nil && refused == nil {
		// bbolt reports a commit failed even when the failure (a sync) came
		// after it wrote its meta page: readers may then see the commit
		// while the heads here do not, and the next append would reuse
		// their revisions. If the head moved, appends stop until the log is
		// opened again, which folds the heads from the file.
		var seq uint64
		verr := l.view(func(tx *bolt.Tx) error { seq = tx.Bucket(bucketEvents).Sequence(); return nil })
		if verr != nil || seq != l.head.Load() {
			l.stop(fmt.Errorf("a commit failed after it may have been written (%v): restart to fold it", err))
		}
	}
	if err == nil {
		l.marked = false
		l.heads.merge(overlay)
		if checkpointed {
			clear(l.dirty)
			l.checkpointed = newHead
		} else {
			for s := range overlay {
				l.dirty[s] = struct{}{}
			}
		}
		l.commits.Add(1)
		l.publish(newHead)
	}
	for _, r := range group {
		close(r.done)
	}
}

// update runs fn in a write transaction, guarded as view is: the checks
// at open read only the headers of most leaves, and a damaged leaf met by
// the writer stops appends instead of the process.
func (l *Log) update(fn func(*bolt.Tx) error) error { return l.guarded(l.db.Update, fn) }

// noRoom tells a commit that failed for want of space: the disk or the
// quota is full, or the file reached its size limit.
func noRoom(err error) bool {
	if err == nil {
		return false
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG} {
		// bbolt formats the error of growing the file with %s (DB.grow),
		// which drops the chain: its text is all that is left.
		if errors.Is(err, errno) || strings.Contains(err.Error(), errno.Error()) {
			return true
		}
	}
	return false
}

// unavailableError is a commit refused for want of room: nothing was
// written, the request was fine, and it may succeed once room is made, so
// the API answers 503 with Retry-After (it looks for Unavailable).
type unavailableError struct{ err error }

func (e unavailableError) Error() string     { return e.err.Error() }
func (e unavailableError) Unwrap() error     { return e.err }
func (e unavailableError) Unavailable() bool { return true }

// storageError marks a failure of bbolt itself, as opposed to a refused append.
type storageError struct{ err error }

func (e storageError) Error() string { return e.err.Error() }

type writer struct {
	events, ids *bolt.Bucket
	heads       *heads
	overlay     map[string]head // heads moved by this transaction
	dec         *decoder
}

func (w *writer) head(stream string) (head, bool) {
	if h, ok := w.overlay[stream]; ok {
		return h, true
	}
	return w.heads.get(stream)
}

// appendPart checks one part against the log and writes it. A refusal
// writes nothing: every check comes before the first Put.
func (w *writer) appendPart(p *part) (domain.AppendResult, error) {
	h, exists := w.head(p.stream)
	current := domain.NoStreamRevision
	if exists {
		current = int64(h.revision)
	}
	conflict := func(reason string) error {
		return &domain.ConflictError{Stream: p.stream, Expected: p.expected, Actual: current, Reason: reason}
	}
	if pos := w.ids.Get(p.ids[0][:]); pos != nil {
		return w.replayed(p, binary.BigEndian.Uint64(pos), conflict)
	}
	for _, id := range p.ids[1:] {
		if w.ids.Get(id[:]) != nil {
			return domain.AppendResult{}, conflict("an event id of this append is already stored elsewhere")
		}
	}
	if p.expected != domain.AnyRevision && int64(p.expected) != current {
		return domain.AppendResult{}, conflict("")
	}
	res := domain.AppendResult{}
	for i, rec := range p.records {
		pos, err := w.events.NextSequence()
		if err != nil {
			return domain.AppendResult{}, storageError{err}
		}
		next := head{last: pos}
		var prev uint64
		if exists {
			next.revision, prev = h.revision+1, h.last
		}
		sealRecord(rec, next.revision, prev)
		key := u64(pos)
		if err := w.events.Put(key, rec); err != nil {
			return domain.AppendResult{}, storageError{err}
		}
		if err := w.ids.Put(p.ids[i][:], key); err != nil {
			return domain.AppendResult{}, storageError{err}
		}
		if i == 0 {
			res.FirstPosition = pos
		}
		h, exists = next, true
		res.LastPosition, res.Revision = pos, int64(next.revision)
	}
	w.overlay[p.stream] = h
	return res, nil
}

// replayed answers an append whose first id is stored already: success if
// the whole append is stored at exactly that place, a conflict otherwise.
func (w *writer) replayed(p *part, firstPos uint64, conflict func(string) error) (domain.AppendResult, error) {
	first, err := w.dec.decodeLink(firstPos, w.events.Get(u64(firstPos)))
	if err != nil {
		return domain.AppendResult{}, storageError{err}
	}
	if first.stream != p.stream {
		return domain.AppendResult{}, conflict("an event id of this append is already stored in another stream")
	}
	if p.expected != domain.AnyRevision && int64(p.expected)+1 != int64(first.revision) {
		return domain.AppendResult{}, conflict("")
	}
	res := domain.AppendResult{FirstPosition: firstPos}
	for i, id := range p.ids {
		key := w.ids.Get(id[:])
		if key == nil {
			return domain.AppendResult{}, conflict("append partly stored already")
		}
		pos := binary.BigEndian.Uint64(key)
		l, err := w.dec.decodeLink(pos, w.events.Get(key))
		if err != nil {
			return domain.AppendResult{}, storageError{err}
		}
		if l.stream != p.stream || l.revision != first.revision+uint64(i) {
			return domain.AppendResult{}, conflict("append partly stored already")
		}
		res.LastPosition, res.Revision = pos, int64(l.revision)
	}
	return res, nil
}

// Seal appends a seal event to domain.SealStream committing to the head
// (revision, hash) of every other stream as it is at that very point of the
// log: it is built inside the commit, where no other append can slip in
// between. env gives the id, recorded-at, actor and source.
func (l *Log) Seal(ctx context.Context, env domain.Envelope) (domain.AppendResult, error) {
	if l.opts.ReadOnly {
		return domain.AppendResult{}, fmt.Errorf("boltlog: %s is open read-only", l.Path())
	}
	env.Stream, env.SchemaVersion, env.Event = domain.SealStream, domain.CurrentSchema(domain.TypeLogSealed), domain.LogSealed{}
	if err := env.Validate(); err != nil {
		return domain.AppendResult{}, err
	}
	r := &appendReq{seal: &env, atomic: true, done: make(chan struct{})}
	select {
	case l.reqs <- r:
	case <-l.quit:
		return domain.AppendResult{}, ErrClosed
	case <-ctx.Done():
		return domain.AppendResult{}, ctx.Err()
	}
	select {
	case <-r.done:
		if r.err != nil {
			return domain.AppendResult{}, r.err
		}
		return r.results[0], nil
	case <-ctx.Done():
		return domain.AppendResult{}, ctx.Err()
	}
}

// sealPart builds the seal from the heads, in the committer's transaction.
func (w *writer) sealPart(env *domain.Envelope) (part, error) {
	hashAt := func(pos uint64) (domain.Hash, error) {
		var h domain.Hash
		rec := w.events.Get(u64(pos))
		if err := checkRecord(pos, rec); err != nil {
			return h, err
		}
		copy(h[:], rec[offHash:])
		return h, nil
	}
	streams := make([]string, 0, len(w.heads.m))
	for s := range w.heads.m {
		if s != domain.SealStream {
			streams = append(streams, s)
		}
	}
	slices.Sort(streams)
	seal := domain.LogSealed{Heads: make([]domain.StreamHead, 0, len(streams))}
	for _, s := range streams {
		h, _ := w.head(s)
		hash, err := hashAt(h.last)
		if err != nil {
			return part{}, storageError{err}
		}
		seal.Heads = append(seal.Heads, domain.StreamHead{Stream: s, Revision: h.revision, Hash: hash.String()})
	}
	env.Event = seal
	expected, prev := domain.NoStream, domain.Hash{}
	if h, ok := w.head(domain.SealStream); ok {
		expected, env.Revision = domain.Exact(int64(h.revision)), h.revision+1
		var err error
		if prev, err = hashAt(h.last); err != nil {
			return part{}, storageError{err}
		}
	}
	evs := []domain.Envelope{*env}
	if err := domain.Chain(evs, prev); err != nil {
		return part{}, err
	}
	return encodePart(domain.AppendRequest{Stream: domain.SealStream, Expected: expected, Events: evs})
}
