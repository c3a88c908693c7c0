package domain

import "time"

// Admit reports whether a unit in state s could have recorded env: the rules
// of the unit's life (registered once and first, no declaration while
// closed, closures and reopenings alternating, the id fixed) that Decide
// enforces on commands, applied to events that arrive already made, as an
// import's do. It returns the same error codes Decide does.
func Admit(s *UnitState, env *Envelope) error {
	if err := env.Event.Validate(); err != nil {
		return err
	}
	id, _ := UnitIDFromStream(env.Stream)
	switch e := env.Event.(type) {
	case UnitRegistered:
		if s.registered {
			return Errorf(EConflict, "unit %s is already registered", s.unit.ID)
		}
		if e.ID != id {
			return Errorf(EInvalid, "unit %s registered in the stream of unit %s", e.ID, id)
		}
		return nil
	}
	if !s.registered {
		return Errorf(ENotFound, "unit %s not found (not registered before this event)", id)
	}
	switch e := env.Event.(type) {
	case UnitDetailsChanged:
		if e.ID != s.unit.ID {
			return Errorf(EInvalid, "a unit's id cannot change")
		}
	case AvailabilityDeclared:
		if s.closure != nil {
			return Errorf(EUnitClosed, "unit %s is closed (indisponibilité totale, saisie bloquée) since %s: %s",
				s.unit.ID, s.closure.Start.Format(time.RFC3339), s.closure.Reason)
		}
	case UnitClosed:
		if s.closure != nil {
			return Errorf(EConflict, "unit %s is already closed", s.unit.ID)
		}
	case UnitReopened:
		switch {
		case s.closure == nil:
			return Errorf(EConflict, "unit %s is not closed", s.unit.ID)
		case !s.closure.Reopenable:
			return Errorf(EConflict, "unit %s was closed as not reopenable", s.unit.ID)
		}
	case UnitPooled:
		if s.pool == e.Pool {
			return Errorf(EConflict, "unit %s is already in pool %s", s.unit.ID, e.Pool)
		}
	case UnitUnpooled:
		if s.pool == "" {
			return Errorf(EConflict, "unit %s is in no pool", s.unit.ID)
		}
	}
	return nil
}
