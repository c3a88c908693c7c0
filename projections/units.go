package projections

import (
	"slices"
	"time"

	"dispo/domain"
)

// UnitView is a unit as people read it: the one rendering of a unit, which
// the API's answers (to queries and to commands alike), the detail rows and
// the pages all show. Everything in it comes from the fold at one position.
type UnitView struct {
	domain.Unit

	// Available is what the unit shows as available (see entry.available):
	// the pool's count when Pool is set, which may exceed Installed.
	Available    int
	Installed    int // installed places, the unit's own
	ClosedPlaces int // places out of use (lits fermés) of the last declaration
	// DeclarationID is the event of the last declaration ("" if none), the
	// one a correction names.
	DeclarationID  string
	LastDeclaredAt time.Time // zero if never declared
	// CapacitySource is the last declaration's national source code, ""
	// when a person made it (see domain.AvailabilityDeclared).
	CapacitySource string
	// ClosingType is the last declaration's national closing type of its
	// closed places, "" when it did not say.
	ClosingType string
	// AwaitingDeclaration: reopened and not declared since; Available is 0
	// and the figures are those of before the closure.
	AwaitingDeclaration bool
	Comment             string          // "" when none
	CommentAt           time.Time       // when the comment was set
	Closure             *domain.Closure // the ongoing indisponibilité totale, nil when open
	Pool                *PoolView       // nil when not pooled
	Retired             bool            // retired from the directory: in no list or total
	Revision            int64           // revision of the unit's own stream: what If-Match takes
	RegisteredAt        time.Time       // when it was registered
	UpdatedAt           time.Time       // when its stream last moved: any change of what it shows
}

// IsUnitClosed reports whether the unit is in indisponibilité totale.
func (v UnitView) IsUnitClosed() bool { return v.Closure != nil }

// PoolView says that a unit's available figure is its pool's (lits
// mutualisés sur plusieurs UO), and with whom it is shared.
type PoolView struct {
	ID        string
	Members   []string // unit ids, sorted
	Available int      // the pool's count, shown by every open member
	Installed int      // the members' installed places, summed
	// UpdatedAt is when the pool last changed: the last event of a member,
	// a member leaving included.
	UpdatedAt time.Time
}

func (e *entry) view() UnitView {
	r := &e.rec
	v := UnitView{
		Unit:                r.unit,
		Available:           e.available(),
		Installed:           r.installed,
		ClosedPlaces:        r.closedPlaces,
		LastDeclaredAt:      r.declaredAt,
		CapacitySource:      r.capacitySource,
		ClosingType:         r.closingType,
		AwaitingDeclaration: r.awaiting,
		Comment:             r.comment,
		CommentAt:           r.commentAt,
		Retired:             r.retired,
		Revision:            r.revision(),
		RegisteredAt:        r.registeredAt,
		UpdatedAt:           r.updatedAt,
	}
	if !r.declID.IsZero() {
		v.DeclarationID = r.declID.String()
	}
	if r.closed {
		closure := r.closure // allocated only for closed units
		v.Closure = &closure
	}
	if p := e.pool; p != nil {
		pv := &PoolView{ID: p.id, Available: p.available, UpdatedAt: p.updated, Members: make([]string, len(p.members))}
		for i, m := range p.members {
			pv.Members[i] = m.id
			pv.Installed += m.rec.installed
		}
		slices.Sort(pv.Members)
		v.Pool = pv
	}
	return v
}

// Unit returns the view of unit id, retired ones included (their page and
// history stay); false if no such unit is registered.
func (a *Availability) Unit(id string) (UnitView, bool) {
	e := a.units[id]
	if e == nil || !e.rec.registered {
		return UnitView{}, false
	}
	return e.view(), true
}

// AllUnits returns every registered unit, retired ones included, by id:
// what a directory that keeps retired resources readable lists.
func (a *Availability) AllUnits() []UnitView {
	ids := make([]string, 0, len(a.units))
	for id, e := range a.units {
		if e.rec.registered {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	vs := make([]UnitView, len(ids))
	for i, id := range ids {
		vs[i] = a.units[id].view()
	}
	return vs
}

// Units returns every registered unit still in the directory (not
// retired), sorted by department, establishment name and unit id (byte order).
func (a *Availability) Units() []UnitView {
	vs := make([]UnitView, len(a.listed))
	for i, e := range a.listed {
		vs[i] = e.view()
	}
	return vs
}
