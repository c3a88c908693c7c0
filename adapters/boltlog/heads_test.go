package boltlog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"
)

// With checkpoints every few events, heads come back from the checkpoint
// plus the rescan of what followed, across reopenings.
func TestHeadsSurviveCheckpointsAndReopen(t *testing.T) {
	defer boltlog.SetCheckpointEvery(boltlog.SetCheckpointEvery(7))
	path := filepath.Join(t.TempDir(), "events.db")
	want := map[string]int{}
	for round := 0; round < 4; round++ {
		l, err := boltlog.Open(path, boltlog.Options{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i := 0; i < 25; i++ {
			s := fmt.Sprintf("unit-%d", (i*7+round)%5)
			res, err := l.Append(context.Background(), s, domain.Exact(int64(want[s])-1), eventlogtest.Declarations(1+i%2))
			if err != nil {
				t.Fatalf("round %d append %d: %v", round, i, err)
			}
			want[s] += 1 + i%2
			if res.Revision != int64(want[s]-1) {
				t.Fatalf("revision %d, want %d", res.Revision, want[s]-1)
			}
		}
		for s, n := range want {
			evs, err := l.ReadStreamForward(context.Background(), s, 0, 0)
			if err != nil || len(evs) != n {
				t.Fatalf("round %d: %s has %d events (%v), want %d", round, s, len(evs), err, n)
			}
			for i, e := range evs {
				if e.Revision != uint64(i) || e.Stream != s {
					t.Fatalf("round %d: %s event %d is %s/%d", round, s, i, e.Stream, e.Revision)
				}
			}
		}
		l.Close()
	}
}
