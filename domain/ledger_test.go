package domain_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dispo/adapters/memlog"
	"dispo/domain"

	"github.com/google/uuid"
)

// fakeClock is the ledger's injectable clock: it stands still unless told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

func newEventID() domain.EventID { return domain.EventID(uuid.Must(uuid.NewV7())) }

// keyIDs derives event ids from an idempotency key, as the HTTP API does.
func keyIDs(key string) func(int) domain.EventID {
	ns := uuid.MustParse("0b6f6a52-6a43-4d4e-9a8c-3c1b7d2e9f10")
	return func(i int) domain.EventID {
		return domain.EventID(uuid.NewSHA1(ns, []byte(key+"\x00"+strconv.Itoa(i))))
	}
}

var (
	admin  = domain.Principal{UserID: "admin-1", Role: domain.RoleAdmin}
	resp77 = domain.Principal{UserID: "resp-77", Role: domain.RoleResponsable, Establishments: []string{"770110054"}}
	resp75 = domain.Principal{UserID: "resp-75", Role: domain.RoleResponsable, Establishments: []string{"750000001"}}
)

// ledgerEnv is a ledger over an in-memory log.
type ledgerEnv struct {
	t      *testing.T
	log    *memlog.Log
	clock  *fakeClock
	ledger *domain.Ledger
}

func newLedgerEnv(t *testing.T) *ledgerEnv {
	t.Helper()
	e := &ledgerEnv{t: t,
		// In Paris time: the ledger must record UTC.
		clock: &fakeClock{t: time.Date(2025, 3, 11, 11, 0, 0, 123456789, paris)}}
	e.reopen()
	return e
}

// reopen starts a new Ledger over the log, opened if need be: a restart,
// which keeps the events and forgets every unit's folded state.
func (e *ledgerEnv) reopen() {
	e.t.Helper()
	if e.log == nil {
		e.log = memlog.New()
		e.t.Cleanup(func() { e.log.Close() })
	}
	e.ledger = domain.NewLedger(e.log, e.clock.Now, newEventID)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *ledgerEnv) head() uint64 {
	e.t.Helper()
	h, err := e.log.Head(testCtx(e.t))
	if err != nil {
		e.t.Fatalf("head: %v", err)
	}
	return h
}

func (e *ledgerEnv) stream(unitID string) []domain.Envelope {
	e.t.Helper()
	evs, err := e.log.ReadStreamForward(testCtx(e.t), domain.UnitStream(unitID), 0, 0)
	if err != nil {
		e.t.Fatalf("read stream of %s: %v", unitID, err)
	}
	return evs
}

func (e *ledgerEnv) exec(p domain.Principal, unitID string, cmd domain.Command) (domain.Outcome, error) {
	return e.ledger.Execute(testCtx(e.t), domain.Request{UnitID: unitID, Command: cmd, Principal: &p, Source: domain.SourceAPI})
}

func (e *ledgerEnv) mustExec(p domain.Principal, unitID string, cmd domain.Command) domain.Outcome {
	e.t.Helper()
	out, err := e.exec(p, unitID, cmd)
	if err != nil {
		e.t.Fatalf("%s executes %T on %s: %v", p.UserID, cmd, unitID, err)
	}
	return out
}

// registered registers validUnit (FINESS 770110054) as admin.
func (e *ledgerEnv) registered() domain.Unit {
	e.t.Helper()
	u := validUnit()
	e.mustExec(admin, u.ID, domain.RegisterUnit{Unit: u})
	return u
}

// refused checks that a refused command appended nothing.
func (e *ledgerEnv) refused(err error, code string, headBefore uint64) {
	e.t.Helper()
	wantCode(e.t, err, code)
	if h := e.head(); h != headBefore {
		e.t.Fatalf("log head = %d after a refused command, want %d (unchanged)", h, headBefore)
	}
}

func TestLedgerRegisterThenDeclare(t *testing.T) {
	e := newLedgerEnv(t)
	u := validUnit()
	ctx := testCtx(t)

	regAt := e.clock.Now()
	out, err := e.ledger.Execute(ctx, domain.Request{UnitID: u.ID, Command: domain.RegisterUnit{Unit: u}, Principal: &admin,
		Actor: domain.Actor{UserID: "spoofed", Role: domain.RoleSystem}, Source: domain.SourceManual, CorrelationID: "corr-reg"})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if want := (domain.AppendResult{FirstPosition: 1, LastPosition: 1, Revision: 0}); out.Result != want || out.Appended != 1 || out.Replayed {
		t.Fatalf("register outcome: result %+v appended %d replayed %v, want %+v appended 1", out.Result, out.Appended, out.Replayed, want)
	}
	if !out.State.Registered() || out.State.Unit() != u || out.State.Revision() != 0 {
		t.Fatalf("state after register: registered %v unit %+v revision %d", out.State.Registered(), out.State.Unit(), out.State.Revision())
	}

	declAt := e.clock.Advance(90 * time.Second)
	out, err = e.ledger.Execute(ctx, domain.Request{UnitID: u.ID, Command: domain.DeclareAvailability{Available: 3, Installed: 12, ClosedPlaces: 1},
		Principal: &resp77, Actor: domain.Actor{UserID: "spoofed", Role: domain.RoleAdmin}, Source: domain.SourceAPI, CorrelationID: "corr-decl"})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	if want := (domain.AppendResult{FirstPosition: 2, LastPosition: 2, Revision: 1}); out.Result != want || out.Appended != 1 || out.Replayed {
		t.Fatalf("declare outcome: result %+v appended %d replayed %v, want %+v appended 1", out.Result, out.Appended, out.Replayed, want)
	}
	if d := out.State.Declared(); d.Available != 3 || d.Installed != 12 || d.ClosedPlaces != 1 || out.State.Revision() != 1 {
		t.Fatalf("state after declare: %+v revision %d, want 3/12/1 at revision 1", d, out.State.Revision())
	}
	if got := out.State.LastDeclaredAt(); !got.Equal(declAt) || got.Location() != time.UTC {
		t.Fatalf("last declared at %v, want %v in UTC", got, declAt.UTC())
	}

	evs := e.stream(u.ID)
	if len(evs) != 2 {
		t.Fatalf("stream holds %d events, want 2", len(evs))
	}
	want := []struct {
		typ    string
		actor  domain.Actor
		at     time.Time
		source domain.Source
		corr   string
	}{
		// An admin acts for no establishment of its own.
		{"unit.registered", domain.Actor{UserID: "admin-1", Role: domain.RoleAdmin}, regAt, domain.SourceManual, "corr-reg"},
		{"availability.declared", domain.Actor{UserID: "resp-77", Role: domain.RoleResponsable, Establishment: "770110054"}, declAt, domain.SourceAPI, "corr-decl"},
	}
	for i, w := range want {
		got := evs[i]
		if got.Type() != w.typ || got.Actor != w.actor || got.Source != w.source || got.CorrelationID != w.corr {
			t.Errorf("event %d: %s by %+v from %s (%s), want %s by %+v from %s (%s)", i, got.Type(), got.Actor, got.Source, got.CorrelationID, w.typ, w.actor, w.source, w.corr)
		}
		if !got.RecordedAt.Equal(w.at) || got.RecordedAt.Location() != time.UTC {
			t.Errorf("event %d recorded at %v, want %v in UTC", i, got.RecordedAt, w.at.UTC())
		}
		if got.Revision != uint64(i) || got.Position != uint64(i+1) {
			t.Errorf("event %d at revision %d position %d, want %d and %d", i, got.Revision, got.Position, i, i+1)
		}
	}

	st, err := e.ledger.State(ctx, u.ID)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	if st.Revision() != 1 || st.Declared().Available != 3 {
		t.Fatalf("State: revision %d available %d, want 1 and 3", st.Revision(), st.Declared().Available)
	}
}

func TestLedgerAuthorization(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	declare := domain.DeclareAvailability{Available: 1, Installed: 10}

	refusals := []struct {
		name string
		p    domain.Principal
		cmd  domain.Command
	}{
		{"resp77e of another establishment declares", resp75, declare},
		{"resp77e of another establishment closes", resp75, domain.CloseUnit{Reason: "travaux"}},
		{"professionnel declares", domain.Principal{UserID: "pro", Role: domain.RoleProfessionnel, Establishments: []string{u.FINESS}}, declare},
		{"analyst declares", domain.Principal{UserID: "ars", Role: domain.RoleAnalyst, Establishments: []string{u.FINESS}}, declare},
		{"auditor declares", domain.Principal{UserID: "aud", Role: domain.RoleAuditor, Establishments: []string{u.FINESS}}, declare},
		{"admin declares", admin, declare},
		{"admin sets a comment", admin, domain.SetComment{Text: "x"}},
		{"admin closes", admin, domain.CloseUnit{Reason: "travaux"}},
		{"resp77e changes details", resp77, domain.ChangeUnitDetails{Unit: u}},
		{"resp77e pools", resp77, domain.PoolUnit{Pool: "p1"}},
		{"resp77e registers", resp77, domain.RegisterUnit{Unit: domain.Unit{ID: "77-EG-02", FINESS: u.FINESS, Establishment: "EG", Department: "77", Type: "udm", Name: "UDM 2"}}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			unitID := u.ID
			if reg, ok := tt.cmd.(domain.RegisterUnit); ok {
				unitID = reg.Unit.ID
			}
			before := e.head()
			_, err := e.exec(tt.p, unitID, tt.cmd)
			e.refused(err, domain.EForbidden, before)
		})
	}

	t.Run("admin administers", func(t *testing.T) {
		changed := u
		changed.Name = "UC DIALYSE UDM (nouveau nom)"
		out := e.mustExec(admin, u.ID, domain.ChangeUnitDetails{Unit: changed})
		if out.Appended != 1 || out.State.Unit().Name != changed.Name {
			t.Fatalf("change details: appended %d, name %q", out.Appended, out.State.Unit().Name)
		}
		out = e.mustExec(admin, u.ID, domain.PoolUnit{Pool: "pool-77"})
		if out.Appended != 1 || out.State.Pool() != "pool-77" {
			t.Fatalf("pool: appended %d, pool %q", out.Appended, out.State.Pool())
		}
		out = e.mustExec(admin, u.ID, domain.UnpoolUnit{})
		if out.Appended != 1 || out.State.Pool() != "" {
			t.Fatalf("unpool: appended %d, pool %q", out.Appended, out.State.Pool())
		}
	})

	t.Run("unknown unit is not found before authorization", func(t *testing.T) {
		for _, p := range []domain.Principal{resp77, resp75} {
			before := e.head()
			_, err := e.exec(p, "77-NOPE-01", declare)
			e.refused(err, domain.ENotFound, before)
		}
	})

	t.Run("register with a mismatched unit id", func(t *testing.T) {
		before := e.head()
		other := validUnit()
		other.ID = "77-EG-09"
		_, err := e.exec(admin, "77-EG-10", domain.RegisterUnit{Unit: other})
		e.refused(err, domain.EInvalid, before)
		if st, err := e.ledger.State(testCtx(t), "77-EG-10"); err != nil || st.Registered() {
			t.Fatalf("State(77-EG-10) = registered %v, %v; want not registered", st.Registered(), err)
		}
	})

	t.Run("invalid unit id", func(t *testing.T) {
		before := e.head()
		_, err := e.exec(resp77, "unit with spaces", declare)
		e.refused(err, domain.EInvalid, before)
	})
}

// The habilitation is checked against the unit as it is in the log, even
// when another replica changed its establishment since this one last read it.
func TestLedgerAuthorizesAgainstCurrentEstablishment(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	e.mustExec(resp77, u.ID, domain.DeclareAvailability{Available: 2, Installed: 10}) // cached by e.ledger

	replica := domain.NewLedger(e.log, e.clock.Now, newEventID)
	moved := u
	moved.FINESS = "750000001"
	if _, err := replica.Execute(testCtx(t), domain.Request{UnitID: u.ID, Command: domain.ChangeUnitDetails{Unit: moved}, Principal: &admin, Source: domain.SourceAPI}); err != nil {
		t.Fatalf("move the unit to another establishment: %v", err)
	}

	before := e.head()
	_, err := e.exec(resp77, u.ID, domain.DeclareAvailability{Available: 3, Installed: 10})
	e.refused(err, domain.EForbidden, before)

	out := e.mustExec(resp75, u.ID, domain.DeclareAvailability{Available: 4, Installed: 10})
	if evs := e.stream(u.ID); evs[len(evs)-1].Actor.Establishment != "750000001" || out.State.Declared().Available != 4 {
		t.Fatalf("declaration by the new establishment's resp77e recorded for %q, available %d", evs[len(evs)-1].Actor.Establishment, out.State.Declared().Available)
	}
}

func TestLedgerClosedUnit(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	e.mustExec(resp77, u.ID, domain.DeclareAvailability{Available: 5, Installed: 10})

	closedAt := e.clock.Advance(time.Hour)
	out := e.mustExec(resp77, u.ID, domain.CloseUnit{Reason: "dégât des eaux", Reopenable: true})
	c, ok := out.State.Closure()
	if !ok || out.Appended != 1 || !c.Start.Equal(closedAt) || c.Start.Location() != time.UTC {
		t.Fatalf("after close: closed %v (%+v), appended %d; want closed since %v UTC", ok, c, out.Appended, closedAt.UTC())
	}

	before := e.head()
	_, err := e.exec(resp77, u.ID, domain.DeclareAvailability{Available: 1, Installed: 10})
	e.refused(err, domain.EUnitClosed, before)
	_, err = e.exec(resp77, u.ID, domain.DeclareAvailability{Available: 1, Installed: 10, Comment: new(string)})
	e.refused(err, domain.EUnitClosed, before)
	_, err = e.exec(resp77, u.ID, domain.CloseUnit{Reason: "encore"})
	e.refused(err, domain.EConflict, before)

	out = e.mustExec(resp77, u.ID, domain.ReopenUnit{})
	if out.State.IsUnitClosed() || out.Appended != 1 {
		t.Fatalf("after reopen: closed %v, appended %d", out.State.IsUnitClosed(), out.Appended)
	}
	out = e.mustExec(resp77, u.ID, domain.DeclareAvailability{Available: 2, Installed: 10})
	if out.State.Declared().Available != 2 {
		t.Fatalf("declaration after reopen: available %d, want 2", out.State.Declared().Available)
	}

	before = e.head()
	_, err = e.exec(resp77, u.ID, domain.ReopenUnit{})
	e.refused(err, domain.EConflict, before)

	types := ""
	for _, ev := range e.stream(u.ID) {
		types += ev.Type() + " "
	}
	if want := "unit.registered availability.declared unit.closed unit.reopened availability.declared "; types != want {
		t.Fatalf("stream:\n got %s\nwant %s", types, want)
	}
}

func TestLedgerIfMatch(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	ctx := testCtx(t)
	declare := func(l *domain.Ledger, ifMatch int64, available int) (domain.Outcome, error) {
		return l.Execute(ctx, domain.Request{UnitID: u.ID, Command: domain.DeclareAvailability{Available: available, Installed: 10},
			Principal: &resp77, Source: domain.SourceAPI, IfMatch: &ifMatch})
	}

	out, err := declare(e.ledger, 0, 1)
	if err != nil {
		t.Fatalf("If-Match 0 on a unit at revision 0: %v", err)
	}
	if out.State.Revision() != 1 || out.Appended != 1 {
		t.Fatalf("revision %d appended %d, want 1 and 1", out.State.Revision(), out.Appended)
	}

	wantStale := func(err error, actual int64, before uint64) {
		t.Helper()
		var c *domain.ConflictError
		if !errors.As(err, &c) {
			t.Fatalf("stale If-Match: got %v, want a *domain.ConflictError", err)
		}
		if c.Actual != actual || c.Stream != domain.UnitStream(u.ID) {
			t.Fatalf("conflict on %q at actual revision %d, want %q at %d", c.Stream, c.Actual, domain.UnitStream(u.ID), actual)
		}
		if h := e.head(); h != before {
			t.Fatalf("head %d after a stale If-Match, want %d", h, before)
		}
	}
	before := e.head()
	_, err = declare(e.ledger, 0, 2)
	wantStale(err, 1, before)
	_, err = declare(e.ledger, domain.NoStreamRevision, 2)
	wantStale(err, 1, before)

	// Another replica moves the unit on: this ledger must see it before comparing.
	replica := domain.NewLedger(e.log, e.clock.Now, newEventID)
	if _, err := declare(replica, 1, 3); err != nil {
		t.Fatalf("replica declares at If-Match 1: %v", err)
	}
	before = e.head()
	_, err = declare(e.ledger, 1, 4)
	wantStale(err, 2, before)
	out, err = declare(e.ledger, 2, 4)
	if err != nil || out.State.Revision() != 3 || out.State.Declared().Available != 4 {
		t.Fatalf("If-Match 2 after the replica's write: revision %d available %d, %v; want 3, 4, nil", out.State.Revision(), out.State.Declared().Available, err)
	}
}

func TestLedgerIdempotency(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	comment := "2 postes en maintenance"
	req := func(key string, available int) domain.Request {
		return domain.Request{UnitID: u.ID, Command: domain.DeclareAvailability{Available: available, Installed: 10, Comment: &comment},
			Principal: &resp77, Source: domain.SourceAPI, EventIDs: keyIDs(key)}
	}

	first, err := e.ledger.Execute(testCtx(t), req("key-1", 4))
	if err != nil {
		t.Fatalf("first: %v", err)
	}
	if first.Appended != 2 || first.Replayed || first.Result.LastPosition != first.Result.FirstPosition+1 || first.Result.Revision != 2 {
		t.Fatalf("first: appended %d replayed %v result %+v, want 2 events to revision 2", first.Appended, first.Replayed, first.Result)
	}
	evs := e.stream(u.ID)
	if evs[1].ID != keyIDs("key-1")(0) || evs[2].ID != keyIDs("key-1")(1) {
		t.Fatalf("events carry ids %v %v, want those derived from the key", evs[1].ID, evs[2].ID)
	}

	wantReplay := func(name string, l *domain.Ledger) {
		t.Helper()
		before := e.head()
		out, err := l.Execute(testCtx(t), req("key-1", 4))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !out.Replayed || out.Appended != 0 || out.Result != first.Result {
			t.Fatalf("%s: replayed %v appended %d result %+v, want replayed with %+v", name, out.Replayed, out.Appended, out.Result, first.Result)
		}
		if h := e.head(); h != before {
			t.Fatalf("%s: head %d, want %d (unchanged)", name, h, before)
		}
	}
	wantReplay("retry", e.ledger)

	// Someone else declares in between: the retry still answers the original.
	e.mustExec(resp77, u.ID, domain.DeclareAvailability{Available: 6, Installed: 10})
	wantReplay("retry after another declaration", e.ledger)

	e.reopen()
	wantReplay("retry after a restart", e.ledger)
	wantReplay("retry at another replica", domain.NewLedger(e.log, e.clock.Now, newEventID))

	// The same retry from a responsable no longer habilitated: refused, as
	// a new command would be.
	revoked := resp77
	revoked.Establishments = nil
	r := req("key-1", 4)
	r.Principal = &revoked
	if _, err := e.ledger.Execute(testCtx(t), r); domain.ErrorCode(err) != domain.EForbidden {
		t.Fatalf("retry after the habilitation was revoked: %v, want %s", err, domain.EForbidden)
	}

	before := e.head()
	other := "autre commentaire"
	r = req("key-2", 5)
	r.Command = domain.DeclareAvailability{Available: 5, Installed: 10, Comment: &other}
	out, err := e.ledger.Execute(testCtx(t), r)
	if err != nil {
		t.Fatalf("another key: %v", err)
	}
	if out.Replayed || out.Appended != 2 || out.Result.FirstPosition != before+1 || e.head() != before+2 {
		t.Fatalf("another key: replayed %v appended %d result %+v head %d, want 2 events after %d", out.Replayed, out.Appended, out.Result, e.head(), before)
	}
}

// Two ledgers over one log, as two replicas would be, declare on the same
// unit at once: every command succeeds, none is lost or applied twice.
func TestLedgerConcurrentReplicas(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	replicas := []*domain.Ledger{e.ledger, domain.NewLedger(e.log, e.clock.Now, newEventID)}
	const workers, perWorker = 8, 20

	var mu sync.Mutex
	revisions := map[int64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, len(replicas)*workers*perWorker)
	for r, l := range replicas {
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					out, err := l.Execute(testCtx(t), domain.Request{UnitID: u.ID, Principal: &resp77, Source: domain.SourceAPI,
						Command: domain.DeclareAvailability{Available: i % 7, Installed: 20}})
					if err != nil {
						errs <- fmt.Errorf("replica %d worker %d declaration %d: %w", r, w, i, err)
						continue
					}
					mu.Lock()
					if revisions[out.Result.Revision] {
						errs <- fmt.Errorf("revision %d reported by two commands", out.Result.Revision)
					}
					revisions[out.Result.Revision] = true
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	want := 1 + len(replicas)*workers*perWorker
	evs := e.stream(u.ID)
	if len(evs) != want {
		t.Fatalf("stream holds %d events, want %d", len(evs), want)
	}
	for i, ev := range evs {
		if ev.Revision != uint64(i) {
			t.Fatalf("event %d has revision %d", i, ev.Revision)
		}
		if i > 0 && ev.Position <= evs[i-1].Position {
			t.Fatalf("event %d at position %d, not after %d", i, ev.Position, evs[i-1].Position)
		}
	}
	for rev := int64(1); rev < int64(want); rev++ {
		if !revisions[rev] {
			t.Fatalf("no command reported revision %d", rev)
		}
	}
	for r, l := range replicas {
		st, err := l.State(testCtx(t), u.ID)
		if err != nil || st.Revision() != int64(want-1) {
			t.Fatalf("replica %d: State at revision %d (%v), want %d", r, st.Revision(), err, want-1)
		}
	}
}

func TestLedgerDeclarationWithComment(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	str := func(s string) *string { return &s }

	steps := []struct {
		comment *string
		types   []string
		want    string // the unit's comment afterwards
	}{
		{str("hémodialyse seule"), []string{"availability.declared", "comment.set"}, "hémodialyse seule"},
		{str("hémodialyse seule"), []string{"availability.declared"}, "hémodialyse seule"}, // unchanged
		{nil, []string{"availability.declared"}, "hémodialyse seule"},                      // not sent
		{str("autre"), []string{"availability.declared", "comment.set"}, "autre"},
		{str(""), []string{"availability.declared", "comment.cleared"}, ""},
		{str(""), []string{"availability.declared"}, ""}, // already cleared
	}
	for i, s := range steps {
		at := e.clock.Advance(time.Minute)
		before := e.head()
		out, err := e.ledger.Execute(testCtx(t), domain.Request{UnitID: u.ID, Principal: &resp77, Source: domain.SourceAPI,
			CorrelationID: fmt.Sprintf("step-%d", i), Command: domain.DeclareAvailability{Available: i, Installed: 10, Comment: s.comment}})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		n := uint64(len(s.types))
		if out.Appended != len(s.types) || out.Result.FirstPosition != before+1 || out.Result.LastPosition != before+n || e.head() != before+n {
			t.Fatalf("step %d: appended %d, result %+v, head %d; want %d events from position %d", i, out.Appended, out.Result, e.head(), n, before+1)
		}
		if out.State.Comment() != s.want || out.State.Declared().Available != i {
			t.Fatalf("step %d: comment %q available %d, want %q and %d", i, out.State.Comment(), out.State.Declared().Available, s.want, i)
		}
		evs := e.stream(u.ID)
		evs = evs[len(evs)-len(s.types):]
		for j, ev := range evs {
			if ev.Type() != s.types[j] || !ev.RecordedAt.Equal(at) || ev.CorrelationID != fmt.Sprintf("step-%d", i) || ev.Position != before+1+uint64(j) {
				t.Fatalf("step %d event %d: %s at %v (%s) position %d, want %s at %v, one append", i, j, ev.Type(), ev.RecordedAt, ev.CorrelationID, ev.Position, s.types[j], at)
			}
		}
	}
}

func TestLedgerStateOfUnknownUnit(t *testing.T) {
	e := newLedgerEnv(t)
	e.registered()
	st, err := e.ledger.State(testCtx(t), "77-NOPE-01")
	if err != nil {
		t.Fatalf("State of an unknown unit: %v", err)
	}
	if st.Registered() || st.Revision() != domain.NoStreamRevision {
		t.Fatalf("unknown unit: registered %v revision %d, want false and %d", st.Registered(), st.Revision(), domain.NoStreamRevision)
	}
	if h := e.head(); h != 1 {
		t.Fatalf("head %d after reading an unknown unit, want 1", h)
	}
	_, err = e.ledger.State(testCtx(t), "")
	wantCode(t, err, domain.EInvalid)
}

// countingLog counts the appends a ledger attempts.
type countingLog struct {
	domain.UnitLog
	appends atomic.Int64
}

func (c *countingLog) Append(ctx context.Context, stream string, exp domain.ExpectedRevision, evs []domain.Envelope) (domain.AppendResult, error) {
	c.appends.Add(1)
	return c.UnitLog.Append(ctx, stream, exp, evs)
}

// A conflict that no other writer explains (the stream did not move) is not
// retried: reloading cannot resolve it. Here an idempotent retry comes after
// the ledger's short memory of ids (restarted, many events since): the log
// refuses the ids at a new place, and the ledger must neither append nor
// hammer the log.
func TestLedgerConflictWithoutProgressIsNotRetried(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	req := domain.Request{UnitID: u.ID, Command: domain.DeclareAvailability{Available: 1, Installed: 10},
		Principal: &resp77, Source: domain.SourceAPI, EventIDs: keyIDs("old-key")}
	if _, err := e.ledger.Execute(testCtx(t), req); err != nil {
		t.Fatalf("first: %v", err)
	}
	for i := range 100 {
		e.mustExec(resp77, u.ID, domain.DeclareAvailability{Available: i % 10, Installed: 10})
	}

	counting := &countingLog{UnitLog: e.log}
	restarted := domain.NewLedger(counting, e.clock.Now, newEventID)
	before := e.head()
	out, err := restarted.Execute(testCtx(t), req)
	var c *domain.ConflictError
	if !out.Replayed && !errors.As(err, &c) {
		t.Fatalf("late retry: replayed %v, error %v; want a replay or a *domain.ConflictError", out.Replayed, err)
	}
	if h := e.head(); h != before {
		t.Fatalf("head %d after a late retry, want %d (unchanged)", h, before)
	}
	if n := counting.appends.Load(); n > 1 {
		t.Fatalf("the ledger tried %d appends, want at most 1", n)
	}
}

// A pointer to a command is no command: Execute refuses it as invalid,
// whoever asks, and appends nothing.
func TestLedgerPointerCommands(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	changed := u
	changed.Name = "renamed"
	before := e.head()
	for _, c := range []domain.Command{&domain.ChangeUnitDetails{Unit: changed}, &domain.PoolUnit{Pool: "p1"},
		&domain.DeclareAvailability{Available: 2, Installed: 10}, (*domain.DeclareAvailability)(nil)} {
		for _, p := range []domain.Principal{resp77, admin} {
			_, err := e.exec(p, u.ID, c)
			e.refused(err, domain.EInvalid, before)
		}
	}
}

// Requests naming units that do not exist leave nothing behind.
func TestLedgerForgetsUnknownUnits(t *testing.T) {
	e := newLedgerEnv(t)
	l := e.ledger
	p := domain.Principal{UserID: "pro", Role: domain.RoleProfessionnel}
	for i := 0; i < 100; i++ {
		_, err := l.Execute(context.Background(), domain.Request{UnitID: fmt.Sprintf("x-%d", i), Principal: &p,
			Command: domain.DeclareAvailability{Available: 1, Installed: 2}, Source: domain.SourceAPI})
		if domain.ErrorCode(err) != domain.ENotFound {
			t.Fatalf("unknown unit: %v", err)
		}
		l.State(context.Background(), fmt.Sprintf("y-%d", i))
	}
	if n := domain.LedgerCacheSize(l); n != 0 {
		t.Fatalf("the ledger keeps %d entries for units that do not exist", n)
	}
}

// A declaration records where its figures come from by who asked: a
// person's carry no source (01, saisie manuelle), a program's the code its
// account is registered with, whatever the command said.
func TestLedgerRecordsTheCapacitySourceOfThePrincipal(t *testing.T) {
	e := newLedgerEnv(t)
	u := e.registered()
	feeder := resp77
	feeder.UserID, feeder.CapacitySource = "gam-77", domain.CapacitySourceGAM
	cases := []struct {
		who  domain.Principal
		says string // what the command itself claims
		want string
	}{
		{resp77, "", ""},
		{resp77, domain.CapacitySourceBedManagement, ""},
		{feeder, "", domain.CapacitySourceGAM},
		{feeder, domain.CapacitySourceDPI, domain.CapacitySourceGAM},
	}
	for i, c := range cases {
		e.clock.Advance(time.Minute)
		e.mustExec(c.who, u.ID, domain.DeclareAvailability{Available: i, Installed: 10, CapacitySource: c.says})
		evs := e.stream(u.ID)
		d, ok := evs[len(evs)-1].Event.(domain.AvailabilityDeclared)
		if !ok || d.CapacitySource != c.want {
			t.Fatalf("case %d: %s declared, recorded %+v; want capacity source %q", i, c.who.UserID, evs[len(evs)-1].Event, c.want)
		}
	}
	// Without a principal (an import, a generator) the command's own stands,
	// and the rule book judges it.
	before := e.head()
	_, err := e.ledger.Execute(testCtx(t), domain.Request{UnitID: u.ID, Source: domain.SourceImport,
		Actor: domain.Actor{UserID: "import", Role: domain.RoleSystem}, Command: domain.DeclareAvailability{Installed: 10, CapacitySource: "07"}})
	e.refused(err, domain.EInvalid, before)
}
