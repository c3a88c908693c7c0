package boltlog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"dispo/adapters/boltlog"
	"dispo/domain"
)

// The Ledger chains what it appends, across commands and across a restart
// (a new Ledger reads the stream's last hash back from the log).
func TestLedgerChainsItsAppends(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { l.Close() }()
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2025, 3, 6, 14, 30, 0, 123, paris)
	now := func() time.Time { at = at.Add(time.Minute); return at }
	newID := func() domain.EventID { return domain.EventID(uuid.Must(uuid.NewV7())) }
	unit := domain.Unit{ID: "77-EG-01", FINESS: "770110054", Establishment: "EG", Department: "77", Type: "udm", Name: "UDM"}
	comment := "2 places"
	cmds := []domain.Command{
		domain.RegisterUnit{Unit: unit},
		domain.DeclareAvailability{Available: 2, Installed: 20, Comment: &comment},      // two events, one append
		domain.CloseUnit{Reason: "travaux", Start: at.Add(time.Hour), Reopenable: true}, // a time not in UTC
	}
	run := func(ledger *domain.Ledger, cmd domain.Command) {
		t.Helper()
		if _, err := ledger.Execute(ctx, domain.Request{UnitID: unit.ID, Command: cmd, Source: domain.SourceManual}); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	ledger := domain.NewLedger(l, now, newID)
	for _, cmd := range cmds {
		run(ledger, cmd)
	}
	// Another process (a fresh Ledger) appends next.
	run(domain.NewLedger(l, now, newID), domain.ReopenUnit{})

	evs, err := l.ReadStreamForward(ctx, domain.UnitStream(unit.ID), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Fatalf("%d events, want 5", len(evs))
	}
	var prev domain.Hash
	for i := range evs {
		h, err := domain.ChainHash(&evs[i], prev)
		if err != nil {
			t.Fatal(err)
		}
		if evs[i].Hash.IsZero() || evs[i].PrevHash != prev || evs[i].Hash != h {
			t.Fatalf("event %d (%s): hash %s prev %s, want %s prev %s", i, evs[i].Type(), evs[i].Hash, evs[i].PrevHash, h, prev)
		}
		prev = h
	}
	st, err := domain.NewLedger(l, now, newID).State(ctx, unit.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastHash() != prev {
		t.Fatalf("state's last hash %s, want %s", st.LastHash(), prev)
	}
}
