package domain

import "time"

// UnitSnapshot is a UnitState in exported form, for projections that
// persist what they folded and resume from it instead of folding the log
// again. RestoreUnitState(s.Snapshot()) folds on exactly as s does.
type UnitSnapshot struct {
	Registered     bool
	Unit           Unit
	Declared       AvailabilityDeclared // the last declaration (Available zeroed by a closure)
	LastDeclaredAt time.Time            // zero if never declared
	Comment        string
	Closure        *Closure // the ongoing closure, nil when open
	Pool           string
	Events         uint64 // events folded: the revision is Events-1
	LastHash       Hash   // the Hash of the last event folded
}

// Snapshot returns s in exported form. The result shares nothing with s.
func (s *UnitState) Snapshot() UnitSnapshot {
	snap := UnitSnapshot{
		Registered:     s.registered,
		Unit:           s.unit,
		Declared:       s.decl,
		LastDeclaredAt: s.lastDeclaredAt,
		Comment:        s.comment,
		Pool:           s.pool,
		Events:         s.events,
		LastHash:       s.lastHash,
	}
	if s.closure != nil {
		c := *s.closure
		snap.Closure = &c
	}
	return snap
}

// RestoreUnitState returns the state snap was taken of. The result shares
// nothing with snap.
func RestoreUnitState(snap UnitSnapshot) UnitState {
	s := UnitState{
		registered:     snap.Registered,
		unit:           snap.Unit,
		decl:           snap.Declared,
		lastDeclaredAt: snap.LastDeclaredAt,
		comment:        snap.Comment,
		pool:           snap.Pool,
		events:         snap.Events,
		lastHash:       snap.LastHash,
	}
	if snap.Closure != nil {
		c := *snap.Closure
		s.closure = &c
	}
	return s
}
