package fixturegen

import (
	"testing"
	"time"

	"dispo/domain"
)

func TestDemoIsFreshAndConsistent(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC) // a Wednesday
	evs, err := Demo(now)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]*domain.UnitState{}
	ages := map[string]time.Duration{}
	for i := range evs {
		e := &evs[i]
		if e.Position != uint64(i+1) {
			t.Fatalf("event %d at position %d", i, e.Position)
		}
		if e.RecordedAt.After(now) {
			t.Fatalf("event %d recorded in the future: %v", i, e.RecordedAt)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		s, ok := states[e.Stream]
		if !ok {
			s = &domain.UnitState{}
			states[e.Stream] = s
		}
		if e.Revision != uint64(s.Revision()+1) {
			t.Fatalf("event %d: revision %d after %d", i, e.Revision, s.Revision())
		}
		if _, unit := domain.UnitIDFromStream(e.Stream); unit {
			if err := domain.Admit(s, e); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
		if h, err := domain.ChainHash(e, s.LastHash()); err != nil || e.PrevHash != s.LastHash() || e.Hash != h {
			t.Fatalf("event %d (%s): not chained to its stream (%v)", i, e.Stream, err)
		}
		s.Apply(e)
		if _, ok := e.Event.(domain.AvailabilityDeclared); ok {
			ages[e.Stream] = now.Sub(e.RecordedAt)
		}
	}
	var within1h, within24h, overdue int
	for _, a := range ages {
		switch {
		case a < time.Hour:
			within1h++
		case a < 24*time.Hour:
			within24h++
		case a >= 7*24*time.Hour:
			overdue++
		}
	}
	if within1h == 0 || within24h == 0 || overdue == 0 {
		t.Fatalf("bands not all populated: <1h %d, <24h %d, overdue %d", within1h, within24h, overdue)
	}
	again, _ := Demo(now)
	if len(again) != len(evs) || again[len(again)-1].ID != evs[len(evs)-1].ID {
		t.Fatal("the same instant gave another demo log")
	}
}
