package domain_test

import (
	"testing"
	"time"

	"dispo/domain"
)

// A rule that came later judges the events recorded since it took effect:
// an export made before it still imports, a file dated after it does not
// slip past what a command could not do.
func TestLaterRulesJudgeByRecordedTime(t *testing.T) {
	s := given(t, domain.RegisterUnit{Unit: validUnit()})
	text := "1 place\u202e le 11/03"
	for _, tc := range []struct {
		at   time.Time
		code string
	}{
		{time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC), ""},
		{time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), domain.ECommentInvisible},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), domain.ECommentInvisible},
	} {
		env := &domain.Envelope{Stream: domain.UnitStream(validUnit().ID), RecordedAt: tc.at, Event: domain.CommentSet{Text: text}}
		if got := domain.ErrorCode(domain.Admit(s, env)); got != tc.code {
			t.Errorf("comment recorded at %s: code %q, want %q", tc.at, got, tc.code)
		}
	}
	// A command is recorded now: the newest rules, whatever the clock says.
	_, err := domain.Decide(s, domain.SetComment{Text: text}, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	wantCode(t, err, domain.ECommentInvisible)
}

// Every refusal of a unit's rules names the field it concerns.
func TestRefusalsNameTheirField(t *testing.T) {
	declared := given(t, domain.RegisterUnit{Unit: validUnit()}, domain.DeclareAvailability{Available: 1, Installed: 10})
	closed := given(t, domain.RegisterUnit{Unit: validUnit()}, domain.CloseUnit{Reason: "travaux", Reopenable: false})
	bad := validUnit()
	bad.Phone = "x"
	for _, tc := range []struct {
		name  string
		s     *domain.UnitState
		cmd   domain.Command
		code  string
		field string
	}{
		{"available", declared, domain.DeclareAvailability{Available: 11, Installed: 10}, domain.EInvalid, "available"},
		{"installed", declared, domain.DeclareAvailability{Installed: -1}, domain.EInvalid, "installed"},
		{"closed places", declared, domain.DeclareAvailability{Installed: 1, ClosedPlaces: 2}, domain.EInvalid, "closed_places"},
		{"comment", declared, domain.SetComment{Text: "a\x07"}, domain.EInvalid, "comment"},
		{"closure reason", declared, domain.CloseUnit{}, domain.EInvalid, "reason"},
		{"planned end", declared, domain.CloseUnit{Reason: "x", Start: t0, PlannedEnd: t0}, domain.EInvalid, "planned_end"},
		{"phone", declared, domain.ChangeUnitDetails{Unit: bad}, domain.EInvalid, "phone"},
		{"pool", declared, domain.PoolUnit{Pool: "pool 1"}, domain.EInvalid, "pool"},
		{"closed unit", closed, domain.DeclareAvailability{Available: 99, Installed: 1}, domain.EUnitClosed, "closure"},
		{"not reopenable", closed, domain.ReopenUnit{}, domain.EConflict, "closure"},
		{"cancellation reason", closed, domain.CancelClosure{}, domain.EInvalid, "reason"},
		{"correction of no declaration", given(t, domain.RegisterUnit{Unit: validUnit()}),
			domain.CorrectDeclaration{Corrects: "0190f5e2-7c1a-7b3e-9d4f-123456789abc", Installed: 10, Reason: "x"}, domain.EConflict, "corrects"},
		{"stale correction", declared, domain.CorrectDeclaration{Corrects: "0190f5e2-7c1a-7b3e-9d4f-123456789abc", Installed: 10, Reason: "x"}, domain.EConflict, "corrects"},
		{"correction not an id", declared, domain.CorrectDeclaration{Corrects: "12", Installed: 10, Reason: "x"}, domain.EInvalid, "corrects"},
	} {
		_, err := domain.Decide(tc.s, tc.cmd, t0)
		if domain.ErrorCode(err) != tc.code || domain.ErrorField(err) != tc.field {
			t.Errorf("%s: %v (field %q), want %s on %q", tc.name, err, domain.ErrorField(err), tc.code, tc.field)
		}
	}
}

// A closure made by mistake, réactivable or not, is cancelled: the unit is
// open as before it, its last declaration standing with its own date.
func TestCancelClosure(t *testing.T) {
	s := given(t, domain.RegisterUnit{Unit: validUnit()}, domain.DeclareAvailability{Available: 3, Installed: 10},
		domain.CloseUnit{Reason: "erreur", Reopenable: false})
	declaredAt := s.LastDeclaredAt()
	evs, err := domain.Decide(s, domain.CancelClosure{Reason: "fermée par erreur"}, t0.Add(time.Hour))
	if err != nil || len(evs) != 1 {
		t.Fatalf("cancel: %v, %v", evs, err)
	}
	applyAll(s, t0.Add(time.Hour), evs...)
	if s.IsUnitClosed() || s.AwaitingDeclaration() || s.Declared().Available != 3 || !s.LastDeclaredAt().Equal(declaredAt) {
		t.Fatalf("after cancellation: %+v", snap(s))
	}
	_, err = domain.Decide(s, domain.CancelClosure{Reason: "encore"}, t0)
	wantCode(t, err, domain.EConflict)
}

// A retired unit leaves its pool in the same append and accepts nothing
// more, not even what would change nothing.
func TestRetireUnit(t *testing.T) {
	s := given(t, domain.RegisterUnit{Unit: validUnit()}, domain.PoolUnit{Pool: "P1"})
	evs, err := domain.Decide(s, domain.RetireUnit{Reason: "UO fusionnée"}, t0)
	if err != nil || len(evs) != 2 || evs[0] != (domain.UnitUnpooled{}) || evs[1] != (domain.UnitRetired{Reason: "UO fusionnée"}) {
		t.Fatalf("retire a pooled unit: %v, %v", evs, err)
	}
	applyAll(s, t0, evs...)
	for _, cmd := range []domain.Command{domain.ClearComment{}, domain.DeclareAvailability{Installed: 1}, domain.RetireUnit{Reason: "x"},
		domain.ChangeUnitDetails{Unit: s.Unit()}, domain.RegisterUnit{Unit: validUnit()}} {
		_, err := domain.Decide(s, cmd, t0)
		want := domain.EUnitRetired
		if _, ok := cmd.(domain.RegisterUnit); ok {
			want = domain.EConflict
		}
		wantCode(t, err, want)
	}
}

// Who may correct, cancel and retire.
func TestAuthorizeCorrections(t *testing.T) {
	resp := domain.Principal{UserID: "r", Role: domain.RoleResponsable, Establishments: []string{"770110054"}}
	for _, tc := range []struct {
		p      domain.Principal
		cmd    domain.Command
		finess string
		ok     bool
	}{
		{resp, domain.CorrectDeclaration{}, "770110054", true},
		{resp, domain.CorrectDeclaration{}, "750000017", false},
		{domain.Principal{Role: domain.RoleAdmin}, domain.CorrectDeclaration{}, "750000017", true},
		{domain.Principal{Role: domain.RoleProfessionnel}, domain.CorrectDeclaration{}, "770110054", false},
		{resp, domain.CancelClosure{}, "770110054", false},
		{domain.Principal{Role: domain.RoleAdmin}, domain.CancelClosure{}, "770110054", true},
		{resp, domain.RetireUnit{}, "770110054", false},
		{domain.Principal{Role: domain.RoleAdmin}, domain.RetireUnit{}, "770110054", true},
	} {
		err := domain.Authorize(tc.p, domain.ActionOf(tc.cmd), tc.finess)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s on %s: %v, want allowed %v", tc.p.Role, tc.cmd.Name(), tc.finess, err, tc.ok)
		}
	}
}
