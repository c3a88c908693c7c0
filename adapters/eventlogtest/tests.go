package eventlogtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"dispo/domain"
)

func testAppendAndReadBack(t *testing.T, l Log) {
	if h := head(t, l); h != 0 {
		t.Fatalf("new log head = %d, want 0", h)
	}
	evs := Declarations(3)
	res := mustAppend(t, l, "unit-a", domain.NoStream, evs)
	if res.FirstPosition != 1 || res.LastPosition != 3 || res.Revision != 2 {
		t.Fatalf("append result %+v, want positions 1..3, revision 2", res)
	}
	got, err := l.ReadStreamForward(ctx(t), "unit-a", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	for i := range got {
		evs[i].Stream = "unit-a"
		sameEvent(t, got[i], evs[i])
		if got[i].Revision != uint64(i) || got[i].Position != uint64(i+1) {
			t.Fatalf("event %d at revision %d position %d", i, got[i].Revision, got[i].Position)
		}
	}
	if h := head(t, l); h != 3 {
		t.Fatalf("head = %d, want 3", h)
	}
}

func testEveryEventTypeRoundTrips(t *testing.T, l Log) {
	start := time.Date(2025, 10, 26, 1, 30, 0, 999, time.FixedZone("CEST", 2*3600))
	events := []domain.Event{
		domain.UnitRegistered{Unit: domain.Unit{ID: "77-EG-01", FINESS: "770000001", Establishment: "EG",
			Department: "77", Type: "udm", Name: "Unité de dialyse médicalisée", Phone: "01 64 00 00 00"}},
		domain.UnitDetailsChanged{Unit: domain.Unit{ID: "77-EG-01", FINESS: "770000001", Establishment: "EG",
			Department: "77", Type: "centre_lourd", Name: "Centre Lourd"}},
		domain.AvailabilityDeclared{Available: 1, Installed: 18, ClosedPlaces: 2},
		domain.CommentSet{Text: "1 place le 11/03 à 10h — «réservée»"},
		domain.CommentCleared{},
		domain.UnitClosed{Reason: "travaux", Start: start, PlannedEnd: start.Add(72 * time.Hour), Reopenable: true},
		domain.UnitReopened{},
		domain.UnitClosed{Reason: "fermeture définitive", Start: start.Add(100 * time.Hour)},
		domain.UnitPooled{Pool: "pool-77-EG"},
		domain.UnitUnpooled{},
		domain.UnitDetailsChanged{Unit: domain.Unit{ID: "77-EG-01", FINESS: "770000001", Establishment: "EG",
			Department: "77", Type: "centre_lourd", Name: "Centre Lourd", Commune: "Melun"}},
		domain.AvailabilityCorrected{Corrects: "0190f5e2-7c1a-7b3e-9d4f-123456789abc", Available: 0, Installed: 18, ClosedPlaces: 3, Reason: "faute de frappe"},
		domain.ClosureCancelled{Reason: "fermée par erreur"},
		domain.UnitRetired{Reason: "UO fusionnée"},
	}
	// Every type of a unit's stream is here (seals have their own test).
	for _, typ := range domain.EventTypes() {
		if typ != domain.TypeLogSealed && !slices.ContainsFunc(events, func(e domain.Event) bool { return e.EventType() == typ }) {
			t.Fatalf("the round trip lacks a %s event", typ)
		}
	}
	var evs []domain.Envelope
	for i, e := range events {
		env := Env(e)
		env.Stream, env.Revision = "unit-77-EG-01", uint64(i)
		evs = append(evs, env)
	}
	// The writer chains the events: the log keeps the hashes as given.
	if err := domain.Chain(evs, domain.Hash{}); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, "unit-77-EG-01", domain.NoStream, evs)
	got, err := l.ReadStreamForward(ctx(t), "unit-77-EG-01", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("read %d events, want %d", len(got), len(evs))
	}
	for i := range got {
		sameEvent(t, got[i], evs[i])
		// What is read back hashes as what was written: a verifier can
		// check the chain on any log.
		if h, err := domain.ChainHash(&got[i], got[i].PrevHash); err != nil || h != got[i].Hash {
			t.Fatalf("%s read back does not hash to its hash (%v)", got[i].Type(), err)
		}
	}

	last := evs[len(evs)-1]
	seal := []domain.Envelope{Env(domain.LogSealed{Heads: []domain.StreamHead{
		{Stream: "unit-77-EG-01", Revision: last.Revision, Hash: last.Hash.String()}}})}
	seal[0].Stream = domain.SealStream
	if err := domain.Chain(seal, domain.Hash{}); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, domain.SealStream, domain.NoStream, seal)
	got, err = l.ReadStreamForward(ctx(t), domain.SealStream, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("read %d seals, want 1", len(got))
	}
	sameEvent(t, got[0], seal[0])
	if h, err := domain.ChainHash(&got[0], got[0].PrevHash); err != nil || h != got[0].Hash {
		t.Fatalf("the seal read back does not hash to its hash: %v", err)
	}
}

func testExpectedRevision(t *testing.T, l Log) {
	_, err := l.Append(ctx(t), "s", domain.Exact(0), Declarations(1))
	wantConflict(t, err, domain.NoStreamRevision)
	mustAppend(t, l, "s", domain.NoStream, Declarations(2)) // revisions 0, 1
	_, err = l.Append(ctx(t), "s", domain.NoStream, Declarations(1))
	wantConflict(t, err, 1)
	_, err = l.Append(ctx(t), "s", domain.Exact(0), Declarations(1))
	wantConflict(t, err, 1)
	_, err = l.Append(ctx(t), "s", domain.Exact(5), Declarations(1))
	wantConflict(t, err, 1)
	if res := mustAppend(t, l, "s", domain.Exact(1), Declarations(1)); res.Revision != 2 {
		t.Fatalf("revision after exact append = %d, want 2", res.Revision)
	}
	if res := mustAppend(t, l, "s", domain.AnyRevision, Declarations(2)); res.Revision != 4 {
		t.Fatalf("revision after any append = %d, want 4", res.Revision)
	}
	if res := mustAppend(t, l, "new", domain.AnyRevision, Declarations(1)); res.Revision != 0 {
		t.Fatalf("revision of a new stream appended with any = %d, want 0", res.Revision)
	}
	if h := head(t, l); h != 6 {
		t.Fatalf("head = %d, want 6: refused appends must write nothing", h)
	}
}

func testIdempotentRetry(t *testing.T, l Log) {
	first, second := Declarations(2), Declarations(1)
	r1 := mustAppend(t, l, "s", domain.NoStream, first)
	r2 := mustAppend(t, l, "s", domain.Exact(1), second)
	mustAppend(t, l, "other", domain.NoStream, Declarations(1))
	before := head(t, l)
	for _, tc := range []struct {
		name string
		exp  domain.ExpectedRevision
		evs  []domain.Envelope
		want domain.AppendResult
	}{
		{"first append, same expectation", domain.NoStream, first, r1},
		{"first append, any", domain.AnyRevision, first, r1},
		{"second append, same expectation", domain.Exact(1), second, r2},
		{"second append, any", domain.AnyRevision, second, r2},
	} {
		got, err := l.Append(ctx(t), "s", tc.exp, tc.evs)
		if err != nil {
			t.Fatalf("%s: retry refused: %v", tc.name, err)
		}
		if got != tc.want {
			t.Fatalf("%s: retry result %+v, want the original %+v", tc.name, got, tc.want)
		}
	}
	// The same ids at the right place but with a wrong expectation conflict.
	_, err := l.Append(ctx(t), "s", domain.Exact(0), second)
	wantConflict(t, err, 2)
	// A retry that is only partly stored is not idempotent.
	_, err = l.Append(ctx(t), "s", domain.Exact(1), append([]domain.Envelope{second[0]}, Declarations(1)...))
	wantConflict(t, err, 2)
	if h := head(t, l); h != before {
		t.Fatalf("head moved from %d to %d on retries", before, h)
	}
	if evs := readAll(t, l, 0); len(evs) != int(before) {
		t.Fatalf("log holds %d events, want %d", len(evs), before)
	}
}

func testIdsElsewhereConflict(t *testing.T, l Log) {
	evs := Declarations(2)
	mustAppend(t, l, "a", domain.NoStream, evs)
	_, err := l.Append(ctx(t), "b", domain.AnyRevision, evs)
	wantConflict(t, err, domain.NoStreamRevision)
	_, err = l.Append(ctx(t), "b", domain.NoStream, append(Declarations(1), evs[1]))
	wantConflict(t, err, domain.NoStreamRevision)
	mustAppend(t, l, "b", domain.NoStream, Declarations(1))
	_, err = l.Append(ctx(t), "b", domain.Exact(0), evs[:1])
	wantConflict(t, err, 0)
	if h := head(t, l); h != 3 {
		t.Fatalf("head = %d, want 3", h)
	}
}

func testInvalidAppend(t *testing.T, l Log) {
	mustAppend(t, l, "s", domain.NoStream, Declarations(1))
	dup := Declarations(1)[0]
	zero := Declarations(1)[0]
	zero.ID = domain.EventID{}
	bad := Env(domain.AvailabilityDeclared{Available: 5, Installed: 4})
	noTime := Declarations(1)[0]
	noTime.RecordedAt = time.Time{}
	for _, tc := range []struct {
		name   string
		stream string
		evs    []domain.Envelope
	}{
		{"no events", "s", nil},
		{"empty stream name", "", Declarations(1)},
		{"stream name with a space", "unit a", Declarations(1)},
		{"stream name with a control byte", "unit\x00a", Declarations(1)},
		{"reserved stream name", "$all", Declarations(1)},
		{"zero id", "s", []domain.Envelope{zero}},
		{"id twice in one append", "s", []domain.Envelope{dup, dup}},
		{"counts breaking the invariants", "s", []domain.Envelope{bad}},
		{"no recorded-at", "s", []domain.Envelope{noTime}},
		{"valid then invalid", "s", append(Declarations(2), bad)},
	} {
		_, err := l.Append(ctx(t), tc.stream, domain.AnyRevision, tc.evs)
		if code := domain.ErrorCode(err); code != domain.EInvalid {
			t.Errorf("%s: got %v (code %q), want code %q", tc.name, err, code, domain.EInvalid)
		}
	}
	if h := head(t, l); h != 1 {
		t.Fatalf("head = %d after refused appends, want 1", h)
	}
}

func testGaplessGlobalPosition(t *testing.T, l Log) {
	streams := []string{"unit-1", "unit-2", "unit-3"}
	for round := 0; round < 4; round++ {
		for _, s := range streams {
			mustAppend(t, l, s, domain.AnyRevision, Declarations(1+round%2))
		}
	}
	all := readAll(t, l, 0)
	if len(all) != 18 {
		t.Fatalf("read %d events, want 18", len(all))
	}
	revs := map[string]uint64{}
	for i, e := range all {
		if e.Position != uint64(i+1) {
			t.Fatalf("event %d has position %d", i, e.Position)
		}
		if e.Revision != revs[e.Stream] {
			t.Fatalf("%s: revision %d, want %d", e.Stream, e.Revision, revs[e.Stream])
		}
		revs[e.Stream]++
	}
	tail := readAll(t, l, 11)
	if len(tail) != 7 || tail[0].Position != 12 {
		t.Fatalf("read after 11 gave %d events starting at %d", len(tail), tail[0].Position)
	}
	if got := readAll(t, l, 18); len(got) != 0 {
		t.Fatalf("read after the head gave %d events", len(got))
	}
}

func testReadStreamDirections(t *testing.T, l Log) {
	evs := Declarations(10)
	mustAppend(t, l, "s", domain.NoStream, evs)
	mustAppend(t, l, "t", domain.NoStream, Declarations(3))
	revisions := func(es []domain.Envelope) string {
		s := ""
		for _, e := range es {
			s += fmt.Sprint(e.Revision, " ")
		}
		return s
	}
	for _, tc := range []struct {
		name string
		read func() ([]domain.Envelope, error)
		want string
	}{
		{"forward from 7", func() ([]domain.Envelope, error) { return l.ReadStreamForward(ctx(t), "s", 7, 0) }, "7 8 9 "},
		{"forward from 2, max 3", func() ([]domain.Envelope, error) { return l.ReadStreamForward(ctx(t), "s", 2, 3) }, "2 3 4 "},
		{"forward past the end", func() ([]domain.Envelope, error) { return l.ReadStreamForward(ctx(t), "s", 10, 0) }, ""},
		{"backward from the end, max 3", func() ([]domain.Envelope, error) { return l.ReadStreamBackward(ctx(t), "s", -1, 3) }, "9 8 7 "},
		{"backward from 2", func() ([]domain.Envelope, error) { return l.ReadStreamBackward(ctx(t), "s", 2, 0) }, "2 1 0 "},
		{"backward from past the end", func() ([]domain.Envelope, error) { return l.ReadStreamBackward(ctx(t), "s", 50, 2) }, "9 8 "},
	} {
		got, err := tc.read()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r := revisions(got); r != tc.want {
			t.Fatalf("%s: revisions %q, want %q", tc.name, r, tc.want)
		}
		for _, e := range got {
			if e.Stream != "s" || e.ID != evs[e.Revision].ID {
				t.Fatalf("%s: event at revision %d is not the one appended there", tc.name, e.Revision)
			}
		}
	}
}

func testStreamNotFound(t *testing.T, l Log) {
	mustAppend(t, l, "s", domain.NoStream, Declarations(1))
	if _, err := l.ReadStreamForward(ctx(t), "missing", 0, 0); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("forward read of a missing stream: %v, want not found", err)
	}
	if _, err := l.ReadStreamBackward(ctx(t), "missing", -1, 0); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("backward read of a missing stream: %v, want not found", err)
	}
}

func testSubscribe(t *testing.T, l Log) {
	mustAppend(t, l, "a", domain.NoStream, Declarations(3))
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan domain.Envelope, 100)
	done := make(chan error, 1)
	go func() {
		for env, err := range l.Subscribe(c, 1) {
			if err != nil {
				done <- err
				return
			}
			got <- env
		}
		done <- nil
	}()
	want := uint64(2)
	expect := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case env := <-got:
				if env.Position != want {
					t.Fatalf("subscription delivered position %d, want %d", env.Position, want)
				}
				want++
			case err := <-done:
				t.Fatalf("subscription ended early: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatalf("subscription did not deliver position %d", want)
			}
		}
	}
	expect(2) // catch-up: positions 2, 3
	mustAppend(t, l, "b", domain.NoStream, Declarations(2))
	expect(2) // live
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustAppend(t, l, fmt.Sprintf("c-%d", i), domain.NoStream, Declarations(3))
		}()
	}
	wg.Wait()
	expect(15)
	select {
	case env := <-got:
		t.Fatalf("unexpected event at position %d", env.Position)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("subscription ended without saying why")
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("subscription did not end when its context did")
	}
}

func testConcurrentAppenders(t *testing.T, l Log) {
	const writers, perWriter = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				if _, err := l.Append(ctx(t), fmt.Sprintf("own-%d", w), domain.Exact(int64(i)-1), Declarations(1)); err != nil {
					errs <- err
					return
				}
				// Contended stream: read the revision, append at it, retry on conflict.
				for attempt := 0; ; attempt++ {
					cur := domain.NoStreamRevision
					if evs, err := l.ReadStreamBackward(ctx(t), "shared", -1, 1); err == nil {
						cur = int64(evs[0].Revision)
					} else if domain.ErrorCode(err) != domain.ENotFound {
						errs <- err
						return
					}
					_, err := l.Append(ctx(t), "shared", domain.Exact(cur), Declarations(1))
					if err == nil {
						break
					}
					if domain.ErrorCode(err) != domain.EConflict || attempt > 1000 {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := readAll(t, l, 0)
	if len(all) != 2*writers*perWriter {
		t.Fatalf("log holds %d events, want %d", len(all), 2*writers*perWriter)
	}
	revs := map[string]uint64{}
	for i, e := range all {
		if e.Position != uint64(i+1) || e.Revision != revs[e.Stream] {
			t.Fatalf("event %d: position %d, %s revision %d (want %d)", i, e.Position, e.Stream, e.Revision, revs[e.Stream])
		}
		revs[e.Stream]++
	}
	if revs["shared"] != writers*perWriter {
		t.Fatalf("shared stream has %d events, want %d", revs["shared"], writers*perWriter)
	}
}
