package boltlog

import (
	"encoding/binary"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// checkpointEvery is how many events may follow the last heads checkpoint.
// Opening the log rescans at most that many records; a commit that writes
// a checkpoint pays one page per stream touched since the last one.
var checkpointEvery uint64 = 1 << 16 // a variable only so tests can make it small

// head locates the newest event of a stream.
type head struct {
	revision uint64 // revision of the newest event
	last     uint64 // its position
}

// heads is the in-memory index of stream heads. Appends need a stream's
// revision, and reads walk a stream back from its head through the records'
// back links. Keeping it in memory, and on disk only at checkpoints, is what
// keeps a commit's writes sequential: per-stream structures on disk cost one
// random page per stream per commit, and a sync pays for every page.
type heads struct {
	mu sync.RWMutex
	m  map[string]head
}

func (h *heads) get(stream string) (head, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	v, ok := h.m[stream]
	return v, ok
}

func (h *heads) merge(o map[string]head) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s, v := range o {
		h.m[s] = v
	}
}

func encodeHead(v head) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, v.revision)
	binary.BigEndian.PutUint64(b[8:], v.last)
	return b
}

// loadHeads reads the checkpoint, then folds the records written after it,
// checking that each continues its stream: a revision or back link out of
// place means the file was damaged. It returns the streams so folded: their
// heads are newer than the checkpoint's, so the next checkpoint must write
// them (else it would move past them and leave their old heads behind).
func loadHeads(tx *bolt.Tx) (map[string]head, uint64, map[string]struct{}, error) {
	m := make(map[string]head)
	hb := tx.Bucket(bucketHeads)
	err := hb.ForEach(func(k, v []byte) error {
		if len(v) != 16 {
			return fmt.Errorf("stream %q: bad head record", k)
		}
		m[string(k)] = head{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}
		return nil
	})
	if err != nil {
		return nil, 0, nil, err
	}
	var at uint64
	if v := tx.Bucket(bucketMeta).Get(keyHeadsAt); len(v) == 8 {
		at = binary.BigEndian.Uint64(v)
	}
	dec := newDecoder()
	folded := make(map[string]struct{})
	c := tx.Bucket(bucketEvents).Cursor()
	want := at + 1
	for k, v := c.Seek(u64(want)); k != nil; k, v = c.Next() {
		pos := binary.BigEndian.Uint64(k)
		if pos != want {
			return nil, 0, nil, fmt.Errorf("position %d missing", want)
		}
		l, err := dec.decodeLink(pos, v)
		if err != nil {
			return nil, 0, nil, err
		}
		h, ok := m[l.stream]
		if ok && (l.revision != h.revision+1 || l.prev != h.last) || !ok && (l.revision != 0 || l.prev != 0) {
			return nil, 0, nil, fmt.Errorf("event at position %d is out of place in stream %s", pos, l.stream)
		}
		m[l.stream] = head{l.revision, pos}
		folded[l.stream] = struct{}{}
		want++
	}
	return m, at, folded, nil
}

// checkpoint writes the heads of the streams in dirty and the position
// they cover.
func checkpoint(tx *bolt.Tx, idx *heads, overlay map[string]head, dirty map[string]struct{}) error {
	hb := tx.Bucket(bucketHeads)
	for s := range dirty {
		v, ok := overlay[s]
		if !ok {
			v, _ = idx.get(s)
		}
		if err := hb.Put([]byte(s), encodeHead(v)); err != nil {
			return err
		}
	}
	for s, v := range overlay {
		if _, ok := dirty[s]; !ok {
			if err := hb.Put([]byte(s), encodeHead(v)); err != nil {
				return err
			}
		}
	}
	return tx.Bucket(bucketMeta).Put(keyHeadsAt, u64(tx.Bucket(bucketEvents).Sequence()))
}

// streamPositions returns the positions of stream's events with revisions
// in [lo, hi], newest first, walking back links from the head.
func streamPositions(events *bolt.Bucket, dec *decoder, stream string, h head, lo, hi uint64) ([]uint64, error) {
	var out []uint64
	pos, rev := h.last, h.revision
	for {
		rec := events.Get(u64(pos))
		l, err := dec.decodeLink(pos, rec)
		if err != nil {
			return nil, err
		}
		if l.stream != stream || l.revision != rev {
			return nil, fmt.Errorf("%w at position %d: not revision %d of %s", errCorrupt, pos, rev, stream)
		}
		if rev <= hi {
			out = append(out, pos)
		}
		if rev == lo || rev == 0 {
			return out, nil
		}
		pos, rev = l.prev, rev-1
	}
}
