package projections

import (
	"testing"

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
