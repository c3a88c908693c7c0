package projections

import (
	"sort"

	"dispo/domain"
)

// Detail returns the units of a matrix row in one department ("Détail des
// disponibilités par département"), each as its UnitView, sorted by
// establishment name then unit id. row is a category code ("dialyse") or a
// unit type code ("udm"); a code that is both names the category. Returns
// EInvalid for an unknown row code or an invalid department.
func (a *Availability) Detail(row, department string) ([]UnitView, error) {
	category, byCategory := domain.LookupCategory(row)
	if !byCategory {
		if _, ok := domain.LookupType(row); !ok {
			return nil, domain.FieldErrorf(domain.EInvalid, "row", "catégorie ou type d'unité %q inconnu", row)
		}
	}
	if !domain.ValidDepartment(department) {
		return nil, domain.FieldErrorf(domain.EInvalid, "department", "département %q inconnu", department)
	}

	// a.listed is sorted by department first: the department is a range.
	i := sort.Search(len(a.listed), func(i int) bool { return a.listed[i].dept >= department })
	rows := []UnitView{}
	for ; i < len(a.listed); i++ {
		e := a.listed[i]
		if e.dept != department {
			break
		}
		u := e.rec.unit
		if byCategory {
			t, ok := domain.LookupType(u.Type)
			if !ok || t.Category != category.Code {
				continue
			}
		} else if u.Type != row {
			continue
		}
		rows = append(rows, e.view())
	}
	return rows, nil
}
