package esdblog

import (
	"context"
	"encoding/binary"
	"sort"
	"sync"

	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// blockSize is how many consecutive positions one index block holds. Part of
// the checkpoint format, do not change.
const blockSize = 64

// allPos is a position in $all: EventStoreDB orders $all by commit position,
// then prepare position.
type allPos struct{ commit, prepare uint64 }

func posOf(p esdb.Position) allPos { return allPos{p.Commit, p.Prepare} }

func (p allPos) esdb() esdb.Position { return esdb.Position{Commit: p.commit, Prepare: p.prepare} }

// after reports whether p comes after q in $all.
func (p allPos) after(q allPos) bool {
	return p.commit > q.commit || p.commit == q.commit && p.prepare > q.prepare
}

// block holds the $all positions of blockSize consecutive dispo positions:
// the first in full, the others as varint deltas (see appendDelta), about 3
// bytes each with EventStoreDB's positions.
type block struct {
	first  allPos
	deltas []byte
	lastID domain.EventID // id of the block's last event, once complete
}

// appendDelta encodes p after prev: the commit delta as a uvarint, then the
// prepare position relative to p's own commit position as a zigzag varint
// (EventStoreDB's prepare is at or just before its commit).
func appendDelta(b []byte, prev, p allPos) []byte {
	b = binary.AppendUvarint(b, p.commit-prev.commit)
	return binary.AppendVarint(b, int64(p.prepare-p.commit))
}

// nextDelta decodes one delta of b after prev; n is 0 if b is malformed.
func nextDelta(b []byte, prev allPos) (p allPos, n int) {
	dc, n1 := binary.Uvarint(b)
	if n1 <= 0 {
		return allPos{}, 0
	}
	dp, n2 := binary.Varint(b[n1:])
	if n2 <= 0 {
		return allPos{}, 0
	}
	p.commit = prev.commit + dc
	p.prepare = p.commit + uint64(dp)
	return p, n1 + n2
}

// placed is where the index saw an event.
type placed struct {
	position uint64 // dispo position (ordinal)
	revision uint64
	stream   uint64 // hash of the dispo stream name
}

// index maps dispo positions to $all positions and back, for every event of
// the dispo streams this replica has seen, in $all order. Position n is the
// n-th such event. One goroutine (the indexer) adds; any may look up.
type index struct {
	mu     sync.RWMutex
	blocks []block
	head   uint64 // last position indexed
	last   allPos // its $all position
	lastID domain.EventID

	// The newest event ids, for idempotent retries and for refusing ids
	// already used in another stream.
	recent  map[domain.EventID]placed
	ring    []domain.EventID
	ringAt  int
	waiters map[domain.EventID][]chan placed

	// moved is closed (and replaced) when the head moves, if anyone took it.
	moved      chan struct{}
	movedTaken bool
	failed     error  // the index no longer matches $all: nothing more is indexed
	epoch      uint64 // counts resets
}

func newIndex(recentIDs int) *index {
	return &index{
		recent:  make(map[domain.EventID]placed, min(recentIDs, 1024)),
		ring:    make([]domain.EventID, recentIDs),
		waiters: make(map[domain.EventID][]chan placed),
		moved:   make(chan struct{}),
	}
}

// add indexes the next event. Callers add events in $all order, each after
// the last.
func (x *index) add(id domain.EventID, stream string, revision uint64, p allPos) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.head++
	if (x.head-1)%blockSize == 0 {
		if n := len(x.blocks); n > 0 {
			// Complete: trim the spare capacity append left.
			b := &x.blocks[n-1]
			b.deltas = append([]byte(nil), b.deltas...)
			b.lastID = x.lastID
		}
		x.blocks = append(x.blocks, block{first: p, deltas: make([]byte, 0, 3*blockSize)})
	} else {
		b := &x.blocks[len(x.blocks)-1]
		b.deltas = appendDelta(b.deltas, x.last, p)
	}
	x.last, x.lastID = p, id
	pl := placed{position: x.head, revision: revision, stream: streamHash(stream)}
	if len(x.ring) > 0 {
		if old := x.ring[x.ringAt]; !old.IsZero() {
			if o, ok := x.recent[old]; ok && o.position+uint64(len(x.ring)) <= x.head {
				delete(x.recent, old)
			}
		}
		x.ring[x.ringAt] = id
		x.ringAt = (x.ringAt + 1) % len(x.ring)
		x.recent[id] = pl
	}
	if ws, ok := x.waiters[id]; ok {
		for _, w := range ws {
			w <- pl // buffered, one send per waiter
		}
		delete(x.waiters, id)
	}
	x.wake()
}

func (x *index) wake() {
	if x.movedTaken {
		close(x.moved)
		x.moved = make(chan struct{})
		x.movedTaken = false
	}
}

// fail stops the index for good: readers and appenders get err.
func (x *index) fail(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.failed == nil {
		x.failed = err
	}
	x.wake()
}

func (x *index) err() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.failed
}

// state returns the head, its $all position and event id.
func (x *index) state() (uint64, allPos, domain.EventID) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.head, x.last, x.lastID
}

// changed returns a channel closed at the next move of the head.
func (x *index) changed() <-chan struct{} {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.movedTaken = true
	return x.moved
}

// position returns the $all position of dispo position n (1 <= n <= head).
func (x *index) position(n uint64) (allPos, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if n == 0 || n > x.head {
		return allPos{}, false
	}
	b := &x.blocks[(n-1)/blockSize]
	p, rest := b.first, b.deltas
	for i := uint64(0); i < (n-1)%blockSize; i++ {
		q, k := nextDelta(rest, p)
		if k == 0 {
			return allPos{}, false
		}
		p, rest = q, rest[k:]
	}
	return p, true
}

// blockFirst returns the $all position of dispo position n if n opens a block.
func (x *index) blockFirst(n uint64) (allPos, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if n == 0 || n > x.head || (n-1)%blockSize != 0 {
		return allPos{}, false
	}
	return x.blocks[(n-1)/blockSize].first, true
}

// ordinal returns the dispo position of the event at $all position p, if
// the index has it.
func (x *index) ordinal(p allPos) (uint64, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	// The last block whose first position is at or before p.
	i := sort.Search(len(x.blocks), func(i int) bool { return x.blocks[i].first.after(p) }) - 1
	if i < 0 {
		return 0, false
	}
	b := &x.blocks[i]
	n := uint64(i)*blockSize + 1
	q, rest := b.first, b.deltas
	for {
		if q == p {
			return n, n <= x.head
		}
		if q.after(p) || n >= x.head || len(rest) == 0 {
			return 0, false
		}
		next, k := nextDelta(rest, q)
		if k == 0 {
			return 0, false
		}
		q, rest, n = next, rest[k:], n+1
	}
}

// covers reports whether the index has reached $all position p.
func (x *index) covers(p allPos) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.head > 0 && !p.after(x.last)
}

// lookup returns where the index saw event id, among the newest ones.
func (x *index) lookup(id domain.EventID) (placed, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	pl, ok := x.recent[id]
	return pl, ok
}

// expect registers a waiter for event id, to be told where it lands. It
// returns the head at registration, with its $all position. The caller must
// call forget.
func (x *index) expect(id domain.EventID) (chan placed, uint64, allPos) {
	x.mu.Lock()
	defer x.mu.Unlock()
	ch := make(chan placed, 1)
	x.waiters[id] = append(x.waiters[id], ch)
	return ch, x.head, x.last
}

func (x *index) forget(id domain.EventID, ch chan placed) {
	x.mu.Lock()
	defer x.mu.Unlock()
	ws := x.waiters[id]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(x.waiters, id)
	} else {
		x.waiters[id] = ws
	}
}

// waitFor returns once cond holds (checked at each move of the head), or
// the context's error, or the index's failure.
func (x *index) waitFor(ctx context.Context, cond func() bool) error {
	for {
		ch := x.changed()
		if err := x.err(); err != nil {
			return err
		}
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// completeBlocks returns the blocks no add will change again, and the
// index's epoch (it changes when the index is reset).
func (x *index) completeBlocks() ([]block, uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := int(x.head / blockSize)
	if n > 0 && x.blocks[n-1].lastID.IsZero() {
		// The last block is full but its successor has not started: its
		// last id is the head's.
		out := make([]block, n)
		copy(out, x.blocks[:n])
		out[n-1].lastID = x.lastID
		out[n-1].deltas = append([]byte(nil), out[n-1].deltas...)
		return out, x.epoch
	}
	return x.blocks[:n:n], x.epoch
}

// load replaces an empty index's content with complete blocks read from a
// checkpoint.
func (x *index) load(blocks []block) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.blocks = blocks
	x.head = uint64(len(blocks)) * blockSize
	if n := len(blocks); n > 0 {
		b := &blocks[n-1]
		p, rest := b.first, b.deltas
		for len(rest) > 0 {
			q, k := nextDelta(rest, p)
			if k == 0 {
				break
			}
			p, rest = q, rest[k:]
		}
		x.last, x.lastID = p, b.lastID
	}
}

// reset empties the index (a checkpoint that did not match the server).
func (x *index) reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.blocks, x.head, x.last, x.lastID = nil, 0, allPos{}, domain.EventID{}
	clear(x.recent)
	clear(x.ring)
	x.ringAt = 0
	x.epoch++
	x.wake()
}

// streamHash is FNV-1a, 64 bits.
func streamHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
