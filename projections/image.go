package projections

import (
	"time"

	"dispo/domain"
)

// UnitImage is one unit of the availability fold: its record, folded from
// its own stream, and the order of its last declaration among all units'.
type UnitImage struct {
	ID         string
	Registered bool
	Retired    bool
	Unit       domain.Unit
	// The last declaration, as corrected.
	Available, Installed, ClosedPlaces int
	DeclarationID                      domain.EventID
	DeclaredAt                         time.Time // zero if never declared
	// DeclarationSeq orders the last declaration among the fold's (see
	// AvailabilityImage.Seq): the newest of a pool's members makes its
	// count. 0: never declared.
	DeclarationSeq uint64
	Awaiting       bool // reopened, not declared since
	Comment        string
	CommentAt      time.Time
	Closure        *domain.Closure // the ongoing closure, nil when open
	Pool           string          // "" when not pooled
	Events         uint64          // events of its stream folded: its revision is Events-1
}

func (e *entry) image() UnitImage {
	r := &e.rec
	u := UnitImage{ID: e.id, Registered: r.registered, Retired: r.retired, Unit: r.unit,
		Available: r.available, Installed: r.installed, ClosedPlaces: r.closedPlaces,
		DeclarationID: r.declID, DeclaredAt: r.declaredAt, DeclarationSeq: e.declSeq, Awaiting: r.awaiting,
		Comment: r.comment, CommentAt: r.commentAt, Pool: r.pool, Events: r.events}
	if r.closed {
		c := r.closure
		u.Closure = &c
	}
	return u
}

// entryOf returns the entry u is the image of, in no list or pool yet.
func entryOf(u UnitImage) *entry {
	e := &entry{id: u.ID, declSeq: u.DeclarationSeq, rec: unitRecord{registered: u.Registered, retired: u.Retired,
		unit: u.Unit, available: u.Available, installed: u.Installed, closedPlaces: u.ClosedPlaces,
		declID: u.DeclarationID, declaredAt: u.DeclaredAt, awaiting: u.Awaiting,
		comment: u.Comment, commentAt: u.CommentAt, pool: u.Pool, events: u.Events}}
	if u.Closure != nil {
		e.rec.closed, e.rec.closure = true, *u.Closure
	}
	return e
}
