package boltlog

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"

	"dispo/domain"
	bolt "go.etcd.io/bbolt"
)

// readChunk bounds how many events one read transaction decodes. Events are
// handed to the caller only after the transaction ends, so a consumer that
// appends (or dawdles) never holds a read transaction open, which would
// stall the writer when the file must grow.
const readChunk = 2048

// Head returns the position of the last committed event (0 for an empty log).
func (l *Log) Head(context.Context) (uint64, error) { return l.head.Load(), nil }

// ReadStreamForward returns the events of stream from revision from on, at
// most max of them (all if max <= 0). A stream with no event is ENotFound.
func (l *Log) ReadStreamForward(ctx context.Context, stream string, from uint64, max int) ([]domain.Envelope, error) {
	return l.readStream(ctx, stream, int64(from), false, max)
}

// ReadStreamBackward returns the events of stream from revision from down to
// 0, newest first, at most max (all if max <= 0); from < 0 starts at the end.
func (l *Log) ReadStreamBackward(ctx context.Context, stream string, from int64, max int) ([]domain.Envelope, error) {
	return l.readStream(ctx, stream, from, true, max)
}

func (l *Log) readStream(ctx context.Context, stream string, from int64, backward bool, max int) ([]domain.Envelope, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !domain.ValidStream(stream) {
		return nil, domain.Errorf(domain.EInvalid, "invalid stream name %q", stream)
	}
	// The head is read before the transaction: everything up to it is
	// committed, so the transaction sees it all.
	h, ok := l.heads.get(stream)
	if !ok {
		return nil, domain.Errorf(domain.ENotFound, "stream %s not found", stream)
	}
	lo, hi := uint64(0), h.revision
	switch {
	case !backward && uint64(from) > h.revision:
		return nil, nil
	case !backward:
		lo = uint64(from)
		if max > 0 && lo+uint64(max)-1 < hi {
			hi = lo + uint64(max) - 1
		}
	case from >= 0 && uint64(from) < hi:
		hi = uint64(from)
	}
	if backward && max > 0 && hi+1 > uint64(max) {
		lo = hi + 1 - uint64(max)
	}
	var out []domain.Envelope
	err := l.view(func(tx *bolt.Tx) error {
		events, dec := tx.Bucket(bucketEvents), newDecoder()
		positions, err := streamPositions(events, dec, stream, h, lo, hi)
		if err != nil {
			return err
		}
		out = make([]domain.Envelope, len(positions))
		for i, pos := range positions {
			j := i
			if !backward {
				j = len(positions) - 1 - i
			}
			if err := dec.decode(pos, events.Get(u64(pos)), &out[j]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// ReadAll yields every event after position after, in position order, up to
// the head at the time each chunk is read. It stops at the first error,
// after the events before it: a fold gets as far as the log can be read.
func (l *Log) ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		dec := newDecoder()
		buf := make([]domain.Envelope, 0, readChunk)
		for {
			var err error
			buf, err = l.readChunk(ctx, dec, after, buf[:0])
			for i := range buf {
				if !yield(buf[i], nil) {
					return
				}
			}
			if err != nil {
				yield(domain.Envelope{}, err)
				return
			}
			if len(buf) == 0 {
				return
			}
			after = buf[len(buf)-1].Position
		}
	}
}

// Subscribe yields every event after position after: first those stored
// (catch-up), then each new one as it is committed (live), without polling.
// It ends when ctx ends (yielding ctx.Err()) or the log closes (ErrClosed).
func (l *Log) Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		dec := newDecoder()
		buf := make([]domain.Envelope, 0, readChunk)
		for {
			// Take the wake-up channel before reading, so a commit between
			// the read and the wait is not missed.
			changed, closed := l.changed()
			if closed {
				yield(domain.Envelope{}, ErrClosed)
				return
			}
			var err error
			buf, err = l.readChunk(ctx, dec, after, buf[:0])
			for i := range buf {
				if !yield(buf[i], nil) {
					return
				}
			}
			if err != nil {
				yield(domain.Envelope{}, err)
				return
			}
			if len(buf) > 0 {
				after = buf[len(buf)-1].Position
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

func (l *Log) readChunk(ctx context.Context, dec *decoder, after uint64, buf []domain.Envelope) ([]domain.Envelope, error) {
	if err := ctx.Err(); err != nil {
		return buf, err
	}
	if after >= l.head.Load() {
		return buf, nil
	}
	err := l.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		want := after + 1
		for k, v := c.Seek(u64(want)); k != nil && len(buf) < cap(buf); k, v = c.Next() {
			pos := binary.BigEndian.Uint64(k)
			if pos != want {
				return fmt.Errorf("%w: position %d missing (found %d)", errCorrupt, want, pos)
			}
			buf = append(buf, domain.Envelope{})
			if err := dec.decode(pos, v, &buf[len(buf)-1]); err != nil {
				buf = buf[:len(buf)-1] // the events before it are good
				return err
			}
			want++
		}
		return nil
	})
	return buf, err
}
