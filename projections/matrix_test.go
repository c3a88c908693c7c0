package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"dispo/domain"
)

func TestMatrixLayout(t *testing.T) {
	l := newLedger(t)
	l.register("a", "77", "udm", "EG")
	l.register("b", "971", "centre_lourd", "CHU")
	l.register("c", "2A", "ssr", "X")
	l.register("d", "75", "udm", "Y")
	m := l.a.Matrix()

	wantDeps := append(append([]string{}, domain.IleDeFrance...), "2A", "971")
	if !reflect.DeepEqual(m.Departments, wantDeps) {
		t.Fatalf("columns: got %v, want %v", m.Departments, wantDeps)
	}
	var got []string
	for _, r := range m.Rows {
		got = append(got, r.Kind.String()+":"+r.Code())
		if len(r.Cells) != len(m.Departments) {
			t.Fatalf("row %s has %d cells for %d columns", r.Code(), len(r.Cells), len(m.Departments))
		}
	}
	want := []string{
		"category:neonatal", "category:psy_adult", "category:psy_child", "category:srpr",
		"category:ssr", "type:ssr",
		"category:dialyse", "type:centre_lourd", "type:udm",
		"category:naissance",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows:\ngot  %v\nwant %v", got, want)
	}
	if m.Rows[6].Label != "Dialyse" || m.Rows[6].Counting != domain.Places || m.Rows[8].Label != "Unité de dialyse médicalisée" {
		t.Fatalf("labels: got %+v / %+v", m.Rows[6], m.Rows[8])
	}
	if m.Total.Kind != TotalRow || m.Total.Label != "Total" || m.Total.Total.Units != 4 {
		t.Fatalf("total row: got %+v", m.Total)
	}

	empty := NewAvailability().Matrix()
	if !reflect.DeepEqual(empty.Departments, domain.IleDeFrance) || len(empty.Rows) != len(domain.Categories) {
		t.Fatalf("empty matrix: got columns %v and %d rows", empty.Departments, len(empty.Rows))
	}
}

// randomDirectory registers units over several departments and types and
// declares for them; with pools when pooled is true.
func randomDirectory(t *testing.T, seed uint64, pooled bool) *ledger {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0))
	l := newLedger(t)
	deps := []string{"75", "77", "78", "91", "92", "93", "94", "95", "60"}
	for i := range 150 {
		id := unitID(i)
		typ := domain.UnitTypes[r.IntN(len(domain.UnitTypes))].Code
		l.register(id, deps[r.IntN(len(deps))], typ, fmt.Sprintf("E%d", r.IntN(20)))
		installed := r.IntN(30)
		closed := r.IntN(installed + 1)
		l.declare(id, r.IntN(installed-closed+1), installed, closed)
		if pooled && r.IntN(3) == 0 {
			l.pool(id, fmt.Sprintf("P%d", r.IntN(8)))
		}
		if r.IntN(8) == 0 {
			l.close(id, "travaux", true)
		}
	}
	return l
}

func addCell(a, b Cell) Cell {
	return Cell{a.Available + b.Available, a.Installed + b.Installed, a.Units + b.Units, a.Pools + b.Pools}
}

// sumsDiffer reports, for each total of m, whether it equals the sum of
// its parts; returns the descriptions of the totals that do not.
func sumsDiffer(m Matrix) []string {
	var bad []string
	catSum := make([]Cell, len(m.Departments)+1) // per column of the Total row, from the category rows
	var typeSum []Cell
	flush := func(cat MatrixRow) {
		if typeSum == nil {
			return
		}
		for c := range cat.Cells {
			if cat.Cells[c] != typeSum[c] {
				bad = append(bad, fmt.Sprintf("category %s column %s: %+v != sum of types %+v", cat.Category, m.Departments[c], cat.Cells[c], typeSum[c]))
			}
		}
		if cat.Total != typeSum[len(cat.Cells)] {
			bad = append(bad, fmt.Sprintf("category %s total: %+v != sum of types %+v", cat.Category, cat.Total, typeSum[len(cat.Cells)]))
		}
	}
	var cat MatrixRow
	for _, r := range append(m.Rows, m.Total) {
		var s Cell
		for _, c := range r.Cells {
			s = addCell(s, c)
		}
		if s != r.Total {
			bad = append(bad, fmt.Sprintf("row %s/%s: total %+v != sum of columns %+v", r.Kind, r.Code(), r.Total, s))
		}
		switch r.Kind {
		case CategoryRow, TotalRow:
			flush(cat)
			cat, typeSum = r, nil
			if r.Kind == CategoryRow {
				for c := range r.Cells {
					catSum[c] = addCell(catSum[c], r.Cells[c])
				}
				catSum[len(r.Cells)] = addCell(catSum[len(r.Cells)], r.Total)
			}
		case TypeRow:
			if typeSum == nil {
				typeSum = make([]Cell, len(r.Cells)+1)
			}
			for c := range r.Cells {
				typeSum[c] = addCell(typeSum[c], r.Cells[c])
			}
			typeSum[len(r.Cells)] = addCell(typeSum[len(r.Cells)], r.Total)
		}
	}
	if !reflect.DeepEqual(append(append([]Cell{}, m.Total.Cells...), m.Total.Total), catSum) {
		bad = append(bad, fmt.Sprintf("total row %+v %+v != sum of categories %+v", m.Total.Cells, m.Total.Total, catSum))
	}
	return bad
}

func TestMatrixTotalsAreSumsWithoutPools(t *testing.T) {
	for seed := range uint64(5) {
		l := randomDirectory(t, seed, false)
		m := l.a.Matrix()
		if bad := sumsDiffer(m); len(bad) > 0 {
			t.Errorf("seed %d: totals differ from sums:\n%v", seed, bad)
		}
		if m.Total.Total.Units != 150 {
			t.Errorf("seed %d: total units %d, want 150", seed, m.Total.Total.Units)
		}
	}
}

func TestMatrixTotalsCountPoolsOnce(t *testing.T) {
	// With pools the totals are not sums: a pool spread over two rows or
	// departments counts in each, once in their total. The sums must then
	// overcount, never undercount, and the installed places still add up.
	differs := false
	for seed := range uint64(5) {
		l := randomDirectory(t, seed, true)
		m := l.a.Matrix()
		if len(sumsDiffer(m)) > 0 {
			differs = true
		}
		var installed, units int
		for _, v := range l.a.Units() {
			installed += v.Installed
			units++
		}
		if got := m.Total.Total; got.Installed != installed || got.Units != units {
			t.Errorf("seed %d: total installed/units %d/%d, want %d/%d", seed, got.Installed, got.Units, installed, units)
		}
		// The grand total counts each pool once: the shown availability of
		// the unpooled open units plus each pool with an open member.
		want := 0
		pools := map[string]int{}
		for _, v := range l.a.Units() {
			switch {
			case v.IsUnitClosed():
			case v.Pool != nil:
				pools[v.Pool.ID] = v.Available
			default:
				want += v.Available
			}
		}
		for _, n := range pools {
			want += n
		}
		if got := m.Total.Total.Available; got != want {
			t.Errorf("seed %d: total available %d, want %d (each pool once)", seed, got, want)
		}
	}
	if !differs {
		t.Error("no seed had a pool spread over several rows or columns: the test proves nothing")
	}
}
