package projections

import (
	"testing"
	"time"

	"dispo/domain"
)

// The unit shows where its last declaration came from; a correction keeps
// it (it corrects figures, not who gave them), the next person's
// declaration clears it, and an image keeps it across a restart.
func TestUnitShowsItsDeclarationsCapacitySource(t *testing.T) {
	l := newLedger(t)
	l.register("u1", "77", "udm", "E")
	l.unitEvent("u1", domain.AvailabilityDeclared{Available: 2, Installed: 10, CapacitySource: domain.CapacitySourceBedManagement})
	if got := l.view("u1").CapacitySource; got != domain.CapacitySourceBedManagement {
		t.Fatalf("after a program's declaration, capacity source %q, want %q", got, domain.CapacitySourceBedManagement)
	}
	decl := l.view("u1").DeclarationID
	l.unitEvent("u1", domain.AvailabilityCorrected{Corrects: decl, Available: 1, Installed: 10, Reason: "erreur"})
	if v := l.view("u1"); v.CapacitySource != domain.CapacitySourceBedManagement || v.Available != 1 {
		t.Fatalf("after a correction, %d available from source %q; want 1 from %q", v.Available, v.CapacitySource, domain.CapacitySourceBedManagement)
	}
	img := l.a.image()
	restored, err := restoreAvailability(&img)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := restored.Unit("u1"); v.CapacitySource != domain.CapacitySourceBedManagement {
		t.Fatalf("restored from an image, capacity source %q, want %q", v.CapacitySource, domain.CapacitySourceBedManagement)
	}
	l.declare("u1", 3, 10, 0)
	if got := l.view("u1").CapacitySource; got != "" {
		t.Fatalf("after a person's declaration, capacity source %q, want none", got)
	}
}

// A unit tells when it was registered and when it last changed, retired
// units included (AllUnits lists them, by id; Units does not), and an image
// keeps both.
func TestUnitTimesAndAllUnits(t *testing.T) {
	l := newLedger(t)
	regAt := l.at
	l.register("b", "77", "udm", "E")
	l.register("a", "75", "udm", "E")
	l.at = l.at.Add(time.Hour)
	l.declare("b", 1, 10, 0)
	l.at = l.at.Add(time.Hour)
	l.unitEvent("a", domain.UnitRetired{Reason: "fermée"})
	if v := l.view("b"); !v.RegisteredAt.Equal(regAt) || !v.UpdatedAt.Equal(regAt.Add(time.Hour)) {
		t.Fatalf("b registered %v updated %v; want %v and an hour later", v.RegisteredAt, v.UpdatedAt, regAt)
	}
	all := l.a.AllUnits()
	if len(all) != 2 || all[0].ID != "a" || !all[0].Retired || !all[0].UpdatedAt.Equal(regAt.Add(2*time.Hour)) || all[1].ID != "b" {
		t.Fatalf("AllUnits = %+v; want a (retired, updated at its retirement) then b", all)
	}
	if n := len(l.a.Units()); n != 1 {
		t.Fatalf("Units lists %d units, want 1 (a is retired)", n)
	}
	img := l.a.image()
	restored, err := restoreAvailability(&img)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := restored.Unit("b"); !v.RegisteredAt.Equal(regAt) || !v.UpdatedAt.Equal(regAt.Add(time.Hour)) {
		t.Fatalf("restored: b registered %v updated %v", v.RegisteredAt, v.UpdatedAt)
	}
}

// A pool's change time moves with each event of a member, a member leaving
// included (the pool's figures change then), and never goes back; an
// image keeps it, and a declaration's closing type.
func TestPoolUpdatedAtAndClosingType(t *testing.T) {
	l := newLedger(t)
	l.register("a", "77", "udm", "E")
	l.register("b", "77", "udm", "E")
	l.pool("a", "P")
	l.pool("b", "P")
	l.at = l.at.Add(time.Hour)
	l.unitEvent("b", domain.AvailabilityDeclared{Available: 1, Installed: 5, ClosedPlaces: 1, ClosingType: domain.ClosingReopenable})
	l.at = l.at.Add(time.Hour)
	l.unitEvent("b", domain.UnitUnpooled{})
	v := l.view("a")
	if v.Pool == nil || !v.Pool.UpdatedAt.Equal(l.at) {
		t.Fatalf("after b left: pool %+v, want updated at %v", v.Pool, l.at)
	}
	if !v.UpdatedAt.Before(v.Pool.UpdatedAt) {
		t.Fatalf("a's own change %v should be older than its pool's %v", v.UpdatedAt, v.Pool.UpdatedAt)
	}
	if b := l.view("b"); b.ClosingType != domain.ClosingReopenable {
		t.Fatalf("b's closing type %q", b.ClosingType)
	}
	img := l.a.image()
	restored, err := restoreAvailability(&img)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := restored.Unit("a")
	rb, _ := restored.Unit("b")
	if ra.Pool == nil || !ra.Pool.UpdatedAt.Equal(l.at) || rb.ClosingType != domain.ClosingReopenable {
		t.Fatalf("restored: pool %+v, b's closing type %q", ra.Pool, rb.ClosingType)
	}
	if c, _ := l.a.Clone().Unit("a"); c.Pool == nil || !c.Pool.UpdatedAt.Equal(l.at) {
		t.Fatalf("cloned: pool %+v", c.Pool)
	}
}
