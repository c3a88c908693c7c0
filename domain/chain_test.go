package domain_test

import (
	"testing"
	"time"

	"dispo/domain"
)

func chainSample() []domain.Envelope {
	at := time.Date(2024, 8, 9, 10, 47, 0, 0, time.UTC)
	var evs []domain.Envelope
	for i, e := range []domain.Event{
		domain.UnitRegistered{Unit: domain.Unit{ID: "77-EG-01", FINESS: "770110054", Establishment: "EG", Department: "77", Type: "udm", Name: "UDM"}},
		domain.AvailabilityDeclared{Available: 1, Installed: 20},
		domain.CommentSet{Text: "1 place le 11/03 à 10h"},
	} {
		evs = append(evs, domain.Envelope{ID: domain.EventID{byte(i + 1)}, Stream: "unit-77-EG-01", SchemaVersion: 1,
			Revision: uint64(i), RecordedAt: at.Add(time.Duration(i) * time.Minute), Source: domain.SourceManual, Event: e})
	}
	return evs
}

func TestChainLinksEachEventToThePrevious(t *testing.T) {
	evs := chainSample()
	if err := domain.Chain(evs, domain.Hash{}); err != nil {
		t.Fatal(err)
	}
	if !evs[0].PrevHash.IsZero() {
		t.Fatal("the first event of a stream chains to zero")
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].PrevHash != evs[i-1].Hash || evs[i].Hash.IsZero() {
			t.Fatalf("event %d is not linked to event %d", i, i-1)
		}
	}
	again := chainSample()
	domain.Chain(again, domain.Hash{})
	if again[2].Hash != evs[2].Hash {
		t.Fatal("the same events chained twice give other hashes")
	}
	// Every field that matters changes the hash.
	for name, change := range map[string]func(e *domain.Envelope){
		"payload":     func(e *domain.Envelope) { e.Event = domain.CommentSet{Text: "2 places"} },
		"revision":    func(e *domain.Envelope) { e.Revision++ },
		"recorded-at": func(e *domain.Envelope) { e.RecordedAt = e.RecordedAt.Add(time.Nanosecond) },
		"actor":       func(e *domain.Envelope) { e.Actor.UserID = "someone" },
		"stream":      func(e *domain.Envelope) { e.Stream = "unit-77-EG-02" },
		"id":          func(e *domain.Envelope) { e.ID[15] = 9 },
	} {
		e := evs[2]
		change(&e)
		if h, _ := domain.ChainHash(&e, e.PrevHash); h == evs[2].Hash {
			t.Errorf("changing the %s leaves the hash unchanged", name)
		}
	}
	if h, _ := domain.ChainHash(&evs[2], domain.Hash{1}); h == evs[2].Hash {
		t.Error("another previous hash leaves the hash unchanged")
	}
}

func TestParseHashAndSeals(t *testing.T) {
	evs := chainSample()
	domain.Chain(evs, domain.Hash{})
	h, err := domain.ParseHash(evs[1].Hash.String())
	if err != nil || h != evs[1].Hash {
		t.Fatalf("hash round trip: %v %v", h, err)
	}
	for _, bad := range []string{"", "00", evs[1].Hash.String()[:63] + "g", evs[1].Hash.String() + "0"} {
		if _, err := domain.ParseHash(bad); domain.ErrorCode(err) != domain.EInvalid {
			t.Errorf("ParseHash(%q): %v", bad, err)
		}
	}
	seal := domain.LogSealed{Heads: []domain.StreamHead{{Stream: "unit-77-EG-01", Revision: 2, Hash: evs[2].Hash.String()}}}
	if err := seal.Validate(); err != nil {
		t.Fatal(err)
	}
	seal.Heads[0].Hash = "nope"
	if domain.ErrorCode(seal.Validate()) != domain.EInvalid {
		t.Fatal("a seal with a bad hash is valid")
	}
}
