package boltlog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"

	"github.com/google/uuid"
)

// Seals built inside the commit match the log exactly at their position,
// even with appends racing them: the verifier accepts the whole log.
func TestSealCommitsToEveryHead(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "events.db"), boltlog.Options{})
	ctx := context.Background()
	prev := map[string]domain.Hash{}
	rev := map[string]uint64{}
	var mu sync.Mutex
	appendChained := func(stream string, n int) {
		mu.Lock()
		defer mu.Unlock()
		evs := eventlogtest.Declarations(n)
		for i := range evs {
			evs[i].Stream, evs[i].Revision = stream, rev[stream]+uint64(i)
		}
		if err := domain.Chain(evs, prev[stream]); err != nil {
			t.Error(err)
			return
		}
		exp := domain.NoStream
		if rev[stream] > 0 {
			exp = domain.Exact(int64(rev[stream]) - 1)
		}
		if _, err := l.Append(ctx, stream, exp, evs); err != nil {
			t.Error(err)
			return
		}
		prev[stream], rev[stream] = evs[n-1].Hash, rev[stream]+uint64(n)
	}
	seal := func() domain.AppendResult {
		res, err := l.Seal(ctx, domain.Envelope{ID: domain.EventID(uuid.Must(uuid.NewV7())), RecordedAt: time.Now().UTC(),
			Actor: domain.Actor{UserID: "admin", Role: domain.RoleAdmin}, Source: domain.SourceManual})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i := 0; i < 5; i++ {
		appendChained(fmt.Sprintf("unit-%d", i), 1+i)
	}
	first := seal()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				appendChained(fmt.Sprintf("unit-%d", (g+i)%5), 1)
			}
		}()
	}
	for i := 0; i < 5; i++ {
		seal()
	}
	wg.Wait()
	last := seal()
	if last.Revision != 6 || first.Revision != 0 {
		t.Fatalf("seal revisions %d..%d, want 0..6", first.Revision, last.Revision)
	}
	evs, err := l.ReadStreamForward(ctx, domain.SealStream, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	heads := evs[0].Event.(domain.LogSealed).Heads
	if len(heads) != 5 || heads[4].Stream != "unit-4" || heads[4].Revision != 4 {
		t.Fatalf("first seal heads: %+v", heads)
	}
	v := domain.NewVerifier()
	n := 0
	for env, err := range l.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Check(&env); err != nil {
			t.Fatalf("verifier refuses the log at event %d: %v", n, err)
		}
		n++
	}
}
