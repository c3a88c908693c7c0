package projections

import (
	"reflect"
	"testing"
	"time"

	"dispo/domain"
)

func TestDeclarationThenView(t *testing.T) {
	l := newLedger(t)
	u := l.register("eg-udm", "77", "udm", "EG")
	if v := l.view("eg-udm"); v.Unit != u || v.Available != 0 || !v.LastDeclaredAt.IsZero() || v.Revision != 0 {
		t.Fatalf("after registration: got %+v", v)
	}
	l.at = t0.Add(time.Minute)
	l.declare("eg-udm", 3, 20, 2)
	got := l.view("eg-udm")
	want := UnitView{Unit: u, Available: 3, Installed: 20, ClosedPlaces: 2, DeclarationID: got.DeclarationID, LastDeclaredAt: t0.Add(time.Minute), Revision: 1,
		RegisteredAt: t0, UpdatedAt: t0.Add(time.Minute)}
	if got.DeclarationID == "" {
		t.Fatal("the view names no declaration")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after declaration:\ngot  %+v\nwant %+v", got, want)
	}
	if got, want := l.a.Position(), uint64(2); got != want {
		t.Fatalf("Position() = %d, want %d", got, want)
	}
	if _, ok := l.a.Unit("nope"); ok {
		t.Fatal("Unit(nope) found a unit never registered")
	}
}

func TestClosureAndReopening(t *testing.T) {
	l := newLedger(t)
	l.register("u1", "77", "centre_lourd", "EG")
	l.declare("u1", 4, 24, 0)
	closedAt := l.at.Add(time.Hour)
	l.at = closedAt
	end := closedAt.Add(48 * time.Hour)
	l.unitEvent("u1", domain.UnitClosed{Reason: "travaux", Start: closedAt, PlannedEnd: end, Reopenable: true})

	v := l.view("u1")
	if v.Available != 0 || v.Installed != 24 || !v.IsUnitClosed() {
		t.Fatalf("closed unit: got available %d installed %d closed %v, want 0, 24, true", v.Available, v.Installed, v.IsUnitClosed())
	}
	wantClosure := domain.Closure{Reason: "travaux", Start: closedAt, PlannedEnd: end, Reopenable: true}
	if *v.Closure != wantClosure {
		t.Fatalf("closure: got %+v, want %+v", *v.Closure, wantClosure)
	}
	if c := cell(t, l.a.Matrix(), "centre_lourd", "77"); c != (Cell{Available: 0, Installed: 24, Units: 1}) {
		t.Fatalf("matrix cell of a closed unit: got %+v", c)
	}
	rows, err := l.a.Detail("dialyse", "77")
	if err != nil || len(rows) != 1 || !rows[0].IsUnitClosed() || rows[0].Available != 0 || rows[0].Installed != 24 {
		t.Fatalf("detail of a closed unit: got %+v, %v", rows, err)
	}

	l.unitEvent("u1", domain.UnitReopened{})
	v = l.view("u1")
	if v.IsUnitClosed() || v.Available != 0 || v.Installed != 24 {
		t.Fatalf("reopened before any declaration: got closed %v available %d installed %d, want false 0 24", v.IsUnitClosed(), v.Available, v.Installed)
	}
	l.declare("u1", 2, 24, 0)
	if v := l.view("u1"); v.Available != 2 {
		t.Fatalf("declaration after reopening: got available %d, want 2", v.Available)
	}
}

func TestComment(t *testing.T) {
	l := newLedger(t)
	l.register("u1", "77", "udm", "EG")
	l.unitEvent("u1", domain.CommentSet{Text: "1 place le 11/03 à 10h"})
	if got := l.view("u1").Comment; got != "1 place le 11/03 à 10h" {
		t.Fatalf("comment: got %q", got)
	}
	rows, _ := l.a.Detail("udm", "77")
	if len(rows) != 1 || rows[0].Comment != "1 place le 11/03 à 10h" {
		t.Fatalf("detail comment: got %+v", rows)
	}
	l.unitEvent("u1", domain.CommentCleared{})
	if got := l.view("u1").Comment; got != "" {
		t.Fatalf("cleared comment: got %q", got)
	}
}

func TestDetailsChangeMovesUnit(t *testing.T) {
	l := newLedger(t)
	l.register("a", "77", "udm", "EG")
	l.register("b", "77", "udm", "EG")
	l.declare("a", 5, 10, 0)
	l.declare("b", 1, 8, 0)

	m := l.a.Matrix()
	if c := cell(t, m, "udm", "77"); c != (Cell{6, 18, 2, 0}) {
		t.Fatalf("before the move, udm/77: got %+v", c)
	}
	moved := mkUnit("a", "75", "centre_lourd", "AP-HP")
	l.unitEvent("a", domain.UnitDetailsChanged{Unit: moved})

	m = l.a.Matrix()
	for _, tc := range []struct {
		code, dept string
		want       Cell
	}{
		{"udm", "77", Cell{1, 8, 1, 0}},
		{"udm", "75", Cell{}},
		{"centre_lourd", "75", Cell{5, 10, 1, 0}},
		{"centre_lourd", "77", Cell{}},
		{"udm", "", Cell{1, 8, 1, 0}},
		{"", "75", Cell{5, 10, 1, 0}},
		{"", "", Cell{6, 18, 2, 0}},
	} {
		if got := cell(t, m, tc.code, tc.dept); got != tc.want {
			t.Errorf("after the move, %s/%s: got %+v, want %+v", tc.code, tc.dept, got, tc.want)
		}
	}
	if got := categoryCell(t, m, "dialyse", "77"); got != (Cell{1, 8, 1, 0}) {
		t.Errorf("after the move, dialyse/77: got %+v", got)
	}
	if v := l.view("a"); v.Unit != moved || v.Available != 5 {
		t.Errorf("moved unit view: got %+v", v)
	}
	if us := l.a.Units(); len(us) != 2 || us[0].ID != "a" || us[1].ID != "b" {
		t.Errorf("Units order after the move (75 before 77): got %v", ids(us))
	}
	if rows, _ := l.a.Detail("dialyse", "77"); len(rows) != 1 || rows[0].ID != "b" {
		t.Errorf("Detail(dialyse, 77) after the move: got %+v", rows)
	}
	if rows, _ := l.a.Detail("centre_lourd", "75"); len(rows) != 1 || rows[0].ID != "a" || rows[0].Establishment != "AP-HP" {
		t.Errorf("Detail(centre_lourd, 75) after the move: got %+v", rows)
	}
}

func ids(us []UnitView) []string {
	var s []string
	for _, u := range us {
		s = append(s, u.ID)
	}
	return s
}

func TestUnitsSorted(t *testing.T) {
	l := newLedger(t)
	l.register("z", "93", "udm", "Alpha")
	l.register("b", "77", "udm", "Zeta")
	l.register("c", "77", "udm", "Alpha")
	l.register("a", "77", "udm", "Alpha")
	l.register("d", "2A", "udm", "Alpha")
	got := ids(l.a.Units())
	want := []string{"d", "a", "c", "b", "z"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Units order: got %v, want %v", got, want)
	}
}

func TestPool(t *testing.T) {
	l := newLedger(t)
	l.register("a", "77", "udm", "EG")
	l.register("b", "77", "autodialyse", "EG")
	l.register("c", "77", "udm", "EG")
	l.register("solo", "77", "udm", "EG")
	l.declare("a", 0, 10, 0)
	l.declare("b", 0, 6, 0)
	l.declare("c", 0, 4, 0)
	l.declare("solo", 2, 5, 0)
	for _, id := range []string{"a", "b", "c"} {
		l.pool(id, "P")
	}
	l.declare("a", 3, 10, 0)

	for _, id := range []string{"a", "b", "c"} {
		if v := l.view(id); v.Available != 3 || poolOf(v) != "P" {
			t.Errorf("pooled %s: got available %d pool %q, want 3 P", id, v.Available, poolOf(v))
		}
	}
	m := l.a.Matrix()
	check := func(what string, got, want Cell) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %+v, want %+v", what, got, want)
		}
	}
	check("udm/77 (a, c pooled; solo)", cell(t, m, "udm", "77"), Cell{3 + 2, 10 + 4 + 5, 3, 1})
	check("autodialyse/77 (b pooled)", cell(t, m, "autodialyse", "77"), Cell{3, 6, 1, 1})
	check("dialyse/77", categoryCell(t, m, "dialyse", "77"), Cell{3 + 2, 25, 4, 1})
	check("dialyse total", categoryCell(t, m, "dialyse", ""), Cell{5, 25, 4, 1})
	check("total/77", cell(t, m, "", "77"), Cell{5, 25, 4, 1})
	check("total", cell(t, m, "", ""), Cell{5, 25, 4, 1})
	if rows, _ := l.a.Detail("dialyse", "77"); !(rows[0].Pool != nil) || (rows[3].Pool != nil) || rows[3].ID != "solo" {
		t.Errorf("detail pooled flags: got %+v", rows)
	}

	// The last declaration among members wins.
	l.declare("b", 1, 6, 0)
	for _, id := range []string{"a", "b", "c"} {
		if v := l.view(id); v.Available != 1 {
			t.Errorf("after b declared 1, %s shows %d", id, v.Available)
		}
	}

	// A closed member shows 0; the others keep the pool's count.
	l.close("b", "panne", true)
	if v := l.view("b"); v.Available != 0 {
		t.Errorf("closed member shows %d, want 0", v.Available)
	}
	if v := l.view("a"); v.Available != 1 {
		t.Errorf("open member after another closed: got %d, want 1", v.Available)
	}
	m = l.a.Matrix()
	check("autodialyse/77, only member closed", cell(t, m, "autodialyse", "77"), Cell{0, 6, 1, 0})
	check("udm/77 after b closed", cell(t, m, "udm", "77"), Cell{1 + 2, 19, 3, 1})
	check("total after b closed", cell(t, m, "", ""), Cell{3, 25, 4, 1})

	// Leaving: when the member whose declaration made the count leaves,
	// the count falls back to the latest declaration of the others (a's 3).
	l.unitEvent("b", domain.UnitUnpooled{})
	if v := l.view("a"); v.Available != 3 {
		t.Errorf("after b left the pool, a shows %d, want 3 (a's own last declaration)", v.Available)
	}
	// Joining with an older declaration does not change the count.
	l.pool("solo", "P")
	if v := l.view("solo"); v.Available != 3 {
		t.Errorf("solo joined with an older declaration: shows %d, want 3", v.Available)
	}
	// A member that leaves shows its own last declaration again.
	l.unitEvent("solo", domain.UnitUnpooled{})
	if v := l.view("solo"); v.Available != 2 || v.Pool != nil {
		t.Errorf("solo left: got available %d pool %q, want 2 \"\"", v.Available, poolOf(v))
	}
	// The last member leaving dissolves the pool; rejoining recomputes it.
	l.unitEvent("a", domain.UnitUnpooled{})
	l.unitEvent("c", domain.UnitUnpooled{})
	if n := len(l.a.pools); n != 0 {
		t.Errorf("empty pools kept: %d", n)
	}
	l.pool("c", "P")
	if v := l.view("c"); v.Available != 0 {
		t.Errorf("c alone in P: got %d, want its own last declaration 0", v.Available)
	}
}

func TestPoolAllMembersClosedCountsNothing(t *testing.T) {
	l := newLedger(t)
	l.register("a", "75", "udm", "X")
	l.register("b", "75", "udm", "X")
	l.pool("a", "P")
	l.pool("b", "P")
	l.declare("a", 4, 10, 0)
	l.close("a", "travaux", true)
	l.close("b", "travaux", true)
	if c := cell(t, l.a.Matrix(), "", ""); c != (Cell{0, 10, 2, 0}) {
		t.Fatalf("pool with every member closed: got %+v, want {0 10 2}", c)
	}
	l.unitEvent("b", domain.UnitReopened{})
	if v := l.view("b"); v.Available != 4 {
		t.Fatalf("reopened member of a pool shows %d, want the pool's 4", v.Available)
	}
	if c := cell(t, l.a.Matrix(), "", ""); c != (Cell{4, 10, 2, 1}) {
		t.Fatalf("pool with one member reopened: got %+v, want {4 10 2}", c)
	}
}

func TestUnknownStreamAdvancesPosition(t *testing.T) {
	l := newLedger(t)
	l.register("u1", "77", "udm", "EG")
	l.emit("user-alice", domain.CommentSet{Text: "not a unit"})
	l.emit("establishment-123", domain.AvailabilityDeclared{Available: 1, Installed: 1})
	if got := l.a.Position(); got != 3 {
		t.Fatalf("Position() = %d, want 3", got)
	}
	if n := len(l.a.Units()); n != 1 {
		t.Fatalf("units after foreign events: %d, want 1", n)
	}
	if got := l.view("u1").Revision; got != 0 {
		t.Fatalf("foreign events changed a unit's revision: %d", got)
	}
}

func TestRedeliveryIgnored(t *testing.T) {
	l := newLedger(t)
	l.register("u1", "77", "udm", "EG")
	l.declare("u1", 1, 5, 0)
	l.declare("u1", 2, 5, 0)
	before := l.view("u1")
	l.a.Apply(l.envs[1]) // the first declaration again
	l.a.Apply(l.envs[2])
	if got := l.view("u1"); !reflect.DeepEqual(got, before) {
		t.Fatalf("redelivered envelopes changed the view:\ngot  %+v\nwant %+v", got, before)
	}
	if got := l.a.Position(); got != 3 {
		t.Fatalf("Position() after redelivery = %d, want 3", got)
	}
}

func TestEventsBeforeRegistrationTolerated(t *testing.T) {
	l := newLedger(t)
	l.declare("early", 2, 9, 0)
	l.unitEvent("early", domain.CommentSet{Text: "avant"})
	if _, ok := l.a.Unit("early"); ok {
		t.Fatal("a unit not yet registered is visible")
	}
	if n := len(l.a.Units()); n != 0 {
		t.Fatalf("Units() lists %d unregistered units", n)
	}
	if c := cell(t, l.a.Matrix(), "", ""); c != (Cell{}) {
		t.Fatalf("matrix counts an unregistered unit: %+v", c)
	}
	l.register("early", "91", "udm", "X")
	v := l.view("early")
	if v.Available != 2 || v.Installed != 9 || v.Comment != "avant" || v.Revision != 2 {
		t.Fatalf("after late registration: got %+v", v)
	}
}

func TestApplyDeclarationDoesNotAllocate(t *testing.T) {
	l := newLedger(t)
	l.register("u1", "77", "udm", "EG")
	l.register("u2", "77", "udm", "EG")
	l.pool("u2", "P")
	for _, id := range []string{"u1", "u2"} {
		env := l.envelope(domain.UnitStream(id), domain.AvailabilityDeclared{Available: 1, Installed: 3})
		allocs := testing.AllocsPerRun(1000, func() {
			env.Position++
			l.a.Apply(env)
		})
		if allocs != 0 {
			t.Errorf("Apply(availability.declared) on %s: %v allocations per event, want 0", id, allocs)
		}
	}
}

// TestStateGrowsWithUnits folds ten times more declarations on the same
// units and counts what the fold holds.
func TestStateGrowsWithUnits(t *testing.T) {
	fold := func(rounds int) int {
		l := newLedger(t)
		for i := range 200 {
			id := unitID(i)
			l.register(id, "77", "udm", "EG")
			if i%10 == 0 {
				l.pool(id, "P")
			}
		}
		for r := range rounds {
			for i := range 200 {
				l.declare(unitID(i), r%5, 10, 0)
				if i%7 == 0 {
					l.unitEvent(unitID(i), domain.CommentSet{Text: "x"})
				}
			}
		}
		return l.a.size()
	}
	small, large := fold(3), fold(30)
	if small != large {
		t.Fatalf("fold size after 10x more events on the same units: got %d, want %d", large, small)
	}
	if small < 200 {
		t.Fatalf("fold size %d does not even count the units: size() is broken", small)
	}
}

func unitID(i int) string {
	const digits = "0123456789"
	return "u" + string(digits[i/1000%10]) + string(digits[i/100%10]) + string(digits[i/10%10]) + string(digits[i%10])
}

// poolOf is the pool id a view names, "" when not pooled.
func poolOf(v UnitView) string {
	if v.Pool == nil {
		return ""
	}
	return v.Pool.ID
}
