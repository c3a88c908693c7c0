package boltlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"dispo/domain"
	bolt "go.etcd.io/bbolt"
)

// CheckResult is what Check read.
type CheckResult struct {
	Pages, Events, Streams uint64
}

// Check runs the full check of the log at path, writing nothing: every page
// (as Open does after an unclean stop), then bbolt's own consistency check,
// then every record: its checksum, its place in its stream, the stream
// heads and the id index. The first problem found is returned, wrapping
// ErrDamaged and naming the file. verify and export run it before they
// read, so they never report on a file they cannot trust.
func Check(path string) (CheckResult, error) {
	var res CheckResult
	// Locked like a reader, so that no writer changes the file under the
	// walk (which would read as damage).
	f, err := lockFile(path, true, time.Second)
	if err != nil {
		return res, err
	}
	m, err := checkPages(f)
	f.Close()
	if err != nil {
		return res, fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	res.Pages = m.hwm
	l, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		return res, err
	}
	defer l.Close()
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrDamaged, path, fmt.Sprintf(format, args...))
	}
	err = l.view(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drained whole: its goroutine must end
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return damaged("bbolt check: %v", first)
		}
		events, ids := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs)
		dec := newDecoder()
		heads := map[string]head{}
		var env domain.Envelope
		want := uint64(1)
		c := events.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 || binary.BigEndian.Uint64(k) != want {
				return damaged("position %d missing", want)
			}
			pos := want
			if err := dec.decode(pos, v, &env); err != nil {
				return damaged("%v", err)
			}
			lk, err := dec.decodeLink(pos, v)
			if err != nil {
				return damaged("%v", err)
			}
			h, ok := heads[lk.stream]
			if ok && (lk.revision != h.revision+1 || lk.prev != h.last) || !ok && (lk.revision != 0 || lk.prev != 0) {
				return damaged("event at position %d is out of place in stream %s", pos, lk.stream)
			}
			heads[lk.stream] = head{lk.revision, pos}
			if at := ids.Get(env.ID[:]); len(at) != 8 || binary.BigEndian.Uint64(at) != pos {
				return damaged("event %s at position %d: the id index does not point to it", env.ID, pos)
			}
			want++
		}
		res.Events = want - 1
		if n := uint64(ids.Stats().KeyN); n != res.Events {
			return damaged("the id index holds %d ids for %d events", n, res.Events)
		}
		if seq := events.Sequence(); seq != res.Events {
			return damaged("head position %d, %d events", seq, res.Events)
		}
		for s, h := range heads {
			if got, ok := l.heads.get(s); !ok || got != h {
				return damaged("stream %s: head at revision %d position %d, its events end at revision %d position %d", s, got.revision, got.last, h.revision, h.last)
			}
		}
		if len(heads) != len(l.heads.m) {
			return damaged("%d stream heads for %d streams", len(l.heads.m), len(heads))
		}
		res.Streams = uint64(len(heads))
		return nil
	})
	if err != nil && !errors.Is(err, ErrDamaged) {
		err = fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	return res, err
}
