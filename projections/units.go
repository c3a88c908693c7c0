package projections

import (
	"time"

	"dispo/domain"
)

// UnitView is a unit as people read it.
type UnitView struct {
	domain.Unit

	Available      int             // as shown: 0 while closed, the pool's count when pooled
	Installed      int             // installed places, the unit's own
	Closed         int             // closed places (lits fermés) of the last declaration
	Comment        string          // "" when none
	LastDeclaredAt time.Time       // zero if never declared
	Closure        *domain.Closure // the ongoing indisponibilité totale, nil when open
	Pool           string          // pool id, "" when not pooled
	Revision       int64           // revision of the unit's stream the view was folded to
}

// IsClosed reports whether the unit is in indisponibilité totale.
func (v UnitView) IsClosed() bool { return v.Closure != nil }

func (e *entry) view() UnitView {
	d := e.state.Declared()
	v := UnitView{
		Unit:           e.state.Unit(),
		Available:      e.available(),
		Installed:      d.Installed,
		Closed:         d.Closed,
		Comment:        e.state.Comment(),
		LastDeclaredAt: e.state.LastDeclaredAt(),
		Pool:           e.state.Pool(),
		Revision:       e.state.Revision(),
	}
	if c, ok := e.state.Closure(); ok {
		closure := c // allocated only for closed units
		v.Closure = &closure
	}
	return v
}

// Unit returns the view of unit id; false if no such unit is registered.
func (a *Availability) Unit(id string) (UnitView, bool) {
	e := a.units[id]
	if e == nil || !e.state.Registered() {
		return UnitView{}, false
	}
	return e.view(), true
}

// Units returns every registered unit, sorted by department, establishment
// name and unit id (byte order).
func (a *Availability) Units() []UnitView {
	vs := make([]UnitView, len(a.listed))
	for i, e := range a.listed {
		vs[i] = e.view()
	}
	return vs
}
