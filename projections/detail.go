package projections

import (
	"sort"
	"time"

	"dispo/domain"
)

// DetailRow is a line of "Détail des disponibilités par département".
type DetailRow struct {
	Establishment string // establishment name
	UnitName      string
	UnitID        string
	Available     int       // as shown: 0 while closed, the pool's count when pooled
	Installed     int       // the unit's own
	LastUpdate    time.Time // last declaration, zero if never
	Phone         string
	Closed        bool // indisponibilité totale, saisie bloquée
	Pooled        bool // lits mutualisés sur plusieurs UO
	Comment       string
}

// Detail returns the units of a matrix row in one department, sorted by
// establishment name then unit id. row is a category code ("dialyse") or a
// unit type code ("udm"); a code that is both names the category. Returns
// EInvalid for an unknown row code or an invalid department.
func (a *Availability) Detail(row, department string) ([]DetailRow, error) {
	category, byCategory := domain.LookupCategory(row)
	if !byCategory {
		if _, ok := domain.LookupType(row); !ok {
			return nil, domain.Errorf(domain.EInvalid, "unknown category or unit type %q", row)
		}
	}
	if !domain.ValidDepartment(department) {
		return nil, domain.Errorf(domain.EInvalid, "invalid department %q", department)
	}

	// a.listed is sorted by department first: the department is a range.
	i := sort.Search(len(a.listed), func(i int) bool { return a.listed[i].dept >= department })
	rows := []DetailRow{}
	for ; i < len(a.listed); i++ {
		e := a.listed[i]
		if e.dept != department {
			break
		}
		u := e.state.Unit()
		if byCategory {
			t, ok := domain.LookupType(u.Type)
			if !ok || t.Category != category.Code {
				continue
			}
		} else if u.Type != row {
			continue
		}
		rows = append(rows, DetailRow{
			Establishment: u.Establishment,
			UnitName:      u.Name,
			UnitID:        u.ID,
			Available:     e.available(),
			Installed:     e.state.Declared().Installed,
			LastUpdate:    e.state.LastDeclaredAt(),
			Phone:         u.Phone,
			Closed:        e.state.IsClosed(),
			Pooled:        e.pool != nil,
			Comment:       e.state.Comment(),
		})
	}
	return rows, nil
}
