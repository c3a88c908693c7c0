package esdblog

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"unsafe"

	"dispo/domain"
)

// buildIndex adds n events at positions shaped like EventStoreDB's: commit
// positions a few hundred bytes apart, prepare equal to commit or, within
// a multi-event append, before it.
func buildIndex(t *testing.T, n int, seed uint64) (*index, []allPos) {
	t.Helper()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	x := newIndex(16)
	var ps []allPos
	commit := uint64(1 << 20)
	for i := 0; i < n; {
		k := 1 + r.IntN(3) // events in one append
		commit += 200 + uint64(r.IntN(600))*uint64(k)
		for j := 0; j < k && i < n; j++ {
			p := allPos{commit, commit - uint64(k-1-j)*300}
			if k == 1 {
				p.prepare = commit
			}
			var id domain.EventID
			id[0], id[1], id[2], id[3] = byte(i), byte(i>>8), byte(i>>16), 1
			x.add(id, "unit-a", uint64(i), p)
			ps = append(ps, p)
			i++
		}
	}
	return x, ps
}

func TestIndexLookups(t *testing.T) {
	const n = 10_000
	x, ps := buildIndex(t, n, rand.Uint64())
	for i, p := range ps {
		o := uint64(i + 1)
		if got, ok := x.position(o); !ok || got != p {
			t.Fatalf("position(%d) = %v, %v; want %v", o, got, ok, p)
		}
		if got, ok := x.ordinal(p); !ok || got != o {
			t.Fatalf("ordinal(%v) = %d, %v; want %d", p, got, ok, o)
		}
	}
	if _, ok := x.ordinal(allPos{ps[5].commit, ps[5].prepare + 1}); ok {
		t.Fatal("ordinal of a position between events was found")
	}
	if _, ok := x.ordinal(allPos{ps[n-1].commit + 1, 0}); ok {
		t.Fatal("ordinal of a position past the head was found")
	}
	if _, ok := x.position(n + 1); ok {
		t.Fatal("position past the head was found")
	}
}

// The index's memory per event, reported and bounded: doc.go states it.
func TestIndexBytesPerEvent(t *testing.T) {
	const n = 1_000_000
	x, _ := buildIndex(t, n, 1)
	bytes := 0
	for _, b := range x.blocks {
		bytes += int(unsafe.Sizeof(b)) + cap(b.deltas)
	}
	per := float64(bytes) / n
	t.Logf("index: %.2f bytes per event over %d events", per, n)
	if per > 5 {
		t.Fatalf("index takes %.2f bytes per event, want at most 5", per)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	x, ps := buildIndex(t, 1000, 7)
	path := filepath.Join(t.TempDir(), "idx")
	blocks, valid, err := readCheckpoint(path, "p-")
	if err != nil || blocks != nil || valid != 0 {
		t.Fatalf("missing file: %v blocks, %d, %v", len(blocks), valid, err)
	}
	c, err := openCheckpoint(path, "p-", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	complete, _ := x.completeBlocks()
	if err := c.write(complete); err != nil {
		t.Fatal(err)
	}
	c.close()
	blocks, _, err = readCheckpoint(path, "p-")
	if err != nil || len(blocks) != 1000/blockSize {
		t.Fatalf("read back %d blocks, %v; want %d", len(blocks), err, 1000/blockSize)
	}
	y := newIndex(16)
	y.load(blocks)
	head, last, lastID := y.state()
	if head != uint64(len(blocks))*blockSize || last != ps[head-1] || lastID != blocks[len(blocks)-1].lastID {
		t.Fatalf("loaded head %d at %v", head, last)
	}
	for o := uint64(1); o <= head; o++ {
		if p, _ := y.position(o); p != ps[o-1] {
			t.Fatalf("loaded position(%d) = %v, want %v", o, p, ps[o-1])
		}
	}
	if b, _, _ := readCheckpoint(path, "other-"); b != nil {
		t.Fatal("a checkpoint of another prefix was read")
	}
}
