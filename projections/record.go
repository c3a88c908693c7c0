package projections

import (
	"time"

	"dispo/domain"
)

// unitRecord is what the read model knows of a unit, folded from the unit's
// stream alone. It means what domain.UnitState means for the same events,
// but it is the read side's own: the rule book's fold keeps what deciding
// needs (the chain's last hash), this one what people read, so that neither
// side changes, or exposes its fields, for the other's sake.
type unitRecord struct {
	registered bool
	retired    bool
	unit       domain.Unit
	// The last declaration's figures, as corrected: a correction replaces
	// them and keeps the declaration's id and date (domain.AvailabilityCorrected).
	available, installed, closedPlaces int
	declID                             domain.EventID
	declaredAt                         time.Time
	capacitySource, closingType        string // of the last declaration: see domain.AvailabilityDeclared
	// awaiting: reopened and not declared since, so the figures are those of
	// before the closure. A cancelled closure does not set it: the
	// declaration stands as if the closure never was.
	awaiting  bool
	comment   string
	commentAt time.Time
	closed    bool
	closure   domain.Closure // the ongoing one when closed
	pool      string         // the pool's id, "" when not pooled
	events    uint64         // events folded: the stream revision is events-1
	// registeredAt and updatedAt: when the unit was registered, and when
	// its stream last moved (what a FHIR resource's meta.lastUpdated says).
	registeredAt, updatedAt time.Time
}

// apply folds one event of the unit's stream. Like the domain's fold, it
// refuses nothing: the log is the authority.
func (r *unitRecord) apply(env *domain.Envelope) {
	r.events++
	r.updatedAt = env.RecordedAt
	switch e := env.Event.(type) {
	case domain.AvailabilityDeclared:
		r.available, r.installed, r.closedPlaces = e.Available, e.Installed, e.ClosedPlaces
		r.declID, r.declaredAt, r.awaiting = env.ID, env.RecordedAt, false
		r.capacitySource, r.closingType = e.CapacitySource, e.ClosingType
	case domain.AvailabilityCorrected:
		r.available, r.installed, r.closedPlaces = e.Available, e.Installed, e.ClosedPlaces
	case domain.UnitRegistered:
		r.registered, r.unit, r.registeredAt = true, e.Unit, env.RecordedAt
	case domain.UnitDetailsChanged:
		r.unit = e.Unit
	case domain.CommentSet:
		r.comment, r.commentAt = e.Text, env.RecordedAt
	case domain.CommentCleared:
		r.comment, r.commentAt = "", time.Time{}
	case domain.UnitClosed:
		r.closed, r.closure = true, domain.Closure(e)
	case domain.UnitReopened:
		r.closed, r.closure, r.awaiting = false, domain.Closure{}, true
	case domain.ClosureCancelled:
		r.closed, r.closure = false, domain.Closure{}
	case domain.UnitPooled:
		r.pool = e.Pool
	case domain.UnitUnpooled:
		r.pool = ""
	case domain.UnitRetired:
		r.retired = true
	}
}

// revision is the stream revision the record was folded to,
// domain.NoStreamRevision before any event: what If-Match takes.
func (r *unitRecord) revision() int64 { return int64(r.events) - 1 }
