package projections

import (
	"slices"

	"dispo/domain"
)

// RowKind tells what a matrix row aggregates.
type RowKind int

const (
	CategoryRow RowKind = iota // every unit whose type belongs to the category
	TypeRow                    // every unit of one unit type
	TotalRow                   // every unit of the matrix
)

func (k RowKind) String() string {
	switch k {
	case CategoryRow:
		return "category"
	case TypeRow:
		return "type"
	case TotalRow:
		return "total"
	}
	return "unknown"
}

// Cell is one intersection of the consultation matrix.
type Cell struct {
	Available int // pooled places counted once, see the package doc
	Installed int
	Units     int // units counted, closed ones included
	// Pools counts the pools whose shared places Available includes
	// (lits mutualisés sur plusieurs UO): a cell says its figure is partly
	// a pool's.
	Pools int
}

// MatrixRow is one row of the consultation matrix.
type MatrixRow struct {
	Kind     RowKind
	Category string          // category code; "" on the Total row
	Type     string          // unit type code on a TypeRow, "" otherwise
	Label    string          // the catalog's label, "Total" on the Total row
	Counting domain.Counting // places or beds; "" on the Total row, which sums both
	Cells    []Cell          // one per Matrix.Departments, in that order
	Total    Cell            // the Total column
}

// Code is what Detail takes for this row: the type code of a TypeRow, the
// category code of a CategoryRow, "" for the Total row.
func (r MatrixRow) Code() string {
	if r.Kind == TypeRow {
		return r.Type
	}
	return r.Category
}

// Matrix is the consultation matrix ("Consultation" tab of the seed).
type Matrix struct {
	// Departments are the columns before the Total column: Île-de-France's
	// departments in order, then any other department that has units, sorted.
	Departments []string
	// Rows are, for each category of domain.Categories in order, the
	// category's row followed by the rows of its unit types that have at
	// least one unit, in catalog order.
	Rows []MatrixRow
	// Total is the Total row, Kind TotalRow.
	Total MatrixRow
}

// Column returns the index of department in Departments and in every row's
// Cells, -1 if it is not a column.
func (m Matrix) Column(department string) int { return slices.Index(m.Departments, department) }

// departments returns the matrix and freshness columns.
func (a *Availability) departments() []string {
	deps := slices.Clone(domain.IleDeFrance)
	last := ""
	for _, e := range a.listed { // sorted by department
		d := e.dept
		if d != last && !slices.Contains(domain.IleDeFrance, d) {
			deps = append(deps, d)
		}
		last = d
	}
	return deps
}

func typeIndex(code string) int {
	for i := range domain.UnitTypes {
		if domain.UnitTypes[i].Code == code {
			return i
		}
	}
	return -1
}

func categoryIndex(code string) int {
	for i := range domain.Categories {
		if domain.Categories[i].Code == code {
			return i
		}
	}
	return -1
}

// Matrix computes the consultation matrix. Units whose type or category is
// not in the catalog are left out of it.
func (a *Availability) Matrix() Matrix {
	deps := a.departments()
	width := len(deps) + 1 // the Total column last

	// Which types have units; then the row of each type and category.
	has := make([]bool, len(domain.UnitTypes))
	for _, e := range a.listed {
		if t := typeIndex(e.share().unit.Type); t >= 0 {
			has[t] = true
		}
	}
	typeRow := make([]int, len(domain.UnitTypes))

	m := Matrix{Departments: deps}
	catRow := make([]int, len(domain.Categories))
	for ci, c := range domain.Categories {
		catRow[ci] = len(m.Rows)
		m.Rows = append(m.Rows, MatrixRow{Kind: CategoryRow, Category: c.Code, Label: c.Label, Counting: c.Counting})
		for ti, t := range domain.UnitTypes {
			if t.Category != c.Code || !has[ti] {
				continue
			}
			typeRow[ti] = len(m.Rows)
			m.Rows = append(m.Rows, MatrixRow{Kind: TypeRow, Category: c.Code, Type: t.Code, Label: t.Label, Counting: c.Counting})
		}
	}
	totalRow := len(m.Rows)
	grid := make([]Cell, (totalRow+1)*width)

	// cellsOf returns the grid indexes of the six cells a unit counts in.
	cellsOf := func(e *entry) ([6]int, bool) {
		u := e.share().unit
		ti := typeIndex(u.Type)
		if ti < 0 {
			return [6]int{}, false
		}
		ci := categoryIndex(domain.UnitTypes[ti].Category)
		if ci < 0 {
			return [6]int{}, false
		}
		col := slices.Index(deps, u.Department)
		var cells [6]int
		for i, r := range [3]int{typeRow[ti], catRow[ci], totalRow} {
			cells[2*i], cells[2*i+1] = r*width+col, r*width+width-1
		}
		return cells, true
	}

	// Every unit counts its installed places; the available places of the
	// units that share a pool are counted below, once per cell.
	for _, e := range a.listed {
		cells, ok := cellsOf(e)
		if !ok {
			continue
		}
		sh := e.share()
		for _, i := range cells {
			grid[i].Units++
			grid[i].Installed += sh.installed
			grid[i].Available += sh.available // 0 when it is the pool's
		}
	}
	var counted []int // cells the current pool is already counted in
	for _, p := range a.pools {
		counted = counted[:0]
		for _, e := range p.members {
			if !e.listed || !e.share().shared {
				continue
			}
			cells, ok := cellsOf(e)
			if !ok {
				continue
			}
			for _, i := range cells {
				if !slices.Contains(counted, i) {
					counted = append(counted, i)
					grid[i].Available += p.available
					grid[i].Pools++
				}
			}
		}
	}

	row := func(r int) ([]Cell, Cell) {
		return grid[r*width : r*width+width-1 : r*width+width-1], grid[r*width+width-1]
	}
	for r := range m.Rows {
		m.Rows[r].Cells, m.Rows[r].Total = row(r)
	}
	m.Total = MatrixRow{Kind: TotalRow, Label: "Total"}
	m.Total.Cells, m.Total.Total = row(totalRow)
	return m
}
