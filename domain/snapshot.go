package domain

import "time"

// UnitSnapshot is a UnitState in exported form, for projections that
// persist what they folded and resume from it instead of folding the log
// again. RestoreUnitState(s.Snapshot()) folds on exactly as s does.
type UnitSnapshot struct {
	Registered     bool
	Retired        bool
	Unit           Unit
	Declared       AvailabilityDeclared // the last declaration, as corrected
	DeclarationID  EventID              // its event
	LastDeclaredAt time.Time            // zero if never declared
	Awaiting       bool                 // reopened, not declared since
	Comment        string
	CommentAt      time.Time
	Closure        *Closure // the ongoing closure, nil when open
	Pool           string
	Events         uint64 // events folded: the revision is Events-1
	LastHash       Hash   // the Hash of the last event folded
}

// Snapshot returns s in exported form. The result shares nothing with s.
func (s *UnitState) Snapshot() UnitSnapshot {
	snap := UnitSnapshot{
		Registered:     s.registered,
		Retired:        s.retired,
		Unit:           s.unit,
		Declared:       s.decl,
		DeclarationID:  s.declID,
		LastDeclaredAt: s.lastDeclaredAt,
		Awaiting:       s.awaiting,
		Comment:        s.comment,
		CommentAt:      s.commentAt,
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
		retired:        snap.Retired,
		unit:           snap.Unit,
		decl:           snap.Declared,
		declID:         snap.DeclarationID,
		lastDeclaredAt: snap.LastDeclaredAt,
		awaiting:       snap.Awaiting,
		comment:        snap.Comment,
		commentAt:      snap.CommentAt,
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
