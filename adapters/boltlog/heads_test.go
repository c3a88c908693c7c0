package boltlog_test

import (
	"context"
	"fmt"
	"os"
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

// The file as a kill -9 leaves it (every commit synced, no Close), opened,
// appended to elsewhere and closed cleanly, then opened again: the streams
// that moved after the last checkpoint and before the crash keep their
// heads. (The heads folded at open were not checkpointed at the next Close,
// which moved the checkpoint past them: the unit lost its newest events and
// took a duplicate revision.)
func TestHeadsFoldedAfterACrashSurviveTheNextCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	l := mustOpen(t, path, boltlog.Options{})
	if _, err := l.Append(context.Background(), "unit-a", domain.NoStream, eventlogtest.Declarations(3)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, path, boltlog.Options{})
	for i := 0; i < 5; i++ {
		if _, err := l.Append(context.Background(), "unit-a", domain.Exact(int64(2+i)), eventlogtest.Declarations(1)); err != nil {
			t.Fatal(err)
		}
	}
	crashed := filepath.Join(dir, "crashed.db")
	copyFile(t, path, crashed)
	l.Close()

	l = mustOpen(t, crashed, boltlog.Options{})
	if _, err := l.Append(context.Background(), "unit-b", domain.NoStream, eventlogtest.Declarations(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, crashed, boltlog.Options{})
	evs, err := l.ReadStreamForward(context.Background(), "unit-a", 0, 0)
	if err != nil || len(evs) != 8 {
		t.Fatalf("unit-a after crash, restart and clean stop: %d events (%v), want 8", len(evs), err)
	}
	if _, err := l.Append(context.Background(), "unit-a", domain.Exact(7), eventlogtest.Declarations(1)); err != nil {
		t.Fatalf("append at revision 8: %v", err)
	}
	if _, err := l.Append(context.Background(), "unit-a", domain.Exact(6), eventlogtest.Declarations(1)); err == nil {
		t.Fatal("append at a revision already taken succeeded")
	}
}

// copyFile copies a log's file as it is on disk, as a kill -9 leaves it.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
