package projections

import (
	"time"

	"dispo/domain"
)

// HistoryEntry is one event of a unit's stream and the unit right after it.
type HistoryEntry struct {
	Event domain.Envelope
	State domain.UnitState
}

// UnitHistory folds a unit's stream, in order, keeping the state after
// each event: what an auditor replays. Events recorded after until (when
// not zero) are left out, so the last entry is the unit as of that instant.
func UnitHistory(stream []domain.Envelope, until time.Time) []HistoryEntry {
	out := make([]HistoryEntry, 0, len(stream))
	var s domain.UnitState
	for i := range stream {
		if !until.IsZero() && stream[i].RecordedAt.After(until) {
			break
		}
		s.Apply(&stream[i])
		out = append(out, HistoryEntry{Event: stream[i], State: s})
	}
	return out
}
