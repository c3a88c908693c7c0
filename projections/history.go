package projections

import (
	"time"

	"dispo/domain"
)

// HistoryEntry is one event of a unit's stream and the unit right after it.
type HistoryEntry struct {
	Event domain.Envelope
	// View renders the unit after Event as Availability.Unit does, from the
	// fold of the unit's own stream alone: a pool is named without its
	// members and count, which only the whole log's fold knows, so the
	// available figure of a pooled unit is its own last declaration.
	View UnitView
	// Registered: the unit was registered by then (View says nothing of a
	// unit that was not).
	Registered bool
}

// UnitHistory folds a unit's stream, in order, keeping the unit after each
// event: what an auditor replays. Events recorded after until (when not
// zero) are left out, so the last entry is the unit as of that instant.
func UnitHistory(stream []domain.Envelope, until time.Time) []HistoryEntry {
	out := make([]HistoryEntry, 0, len(stream))
	var e entry
	for i := range stream {
		if !until.IsZero() && stream[i].RecordedAt.After(until) {
			break
		}
		e.rec.apply(&stream[i])
		e.id = e.rec.unit.ID
		v := e.view()
		if p := e.rec.pool; p != "" {
			v.Pool = &PoolView{ID: p}
		}
		out = append(out, HistoryEntry{Event: stream[i], View: v, Registered: e.rec.registered})
	}
	return out
}
