package jsonl

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"dispo/domain"
)

// MaxLineSize is the longest line, line end excluded, that a Reader accepts.
// Part of the format, do not lower it: files written for the old limit must
// stay readable.
const MaxLineSize = 1 << 20

// wireEnvelope is the JSON shape of a line. Field order is the order keys are
// written in.
type wireEnvelope struct {
	ID            string          `json:"id"`
	Stream        string          `json:"stream"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	Position      uint64          `json:"position"`
	Revision      uint64          `json:"revision"`
	RecordedAt    string          `json:"recorded_at"`
	Actor         wireActor       `json:"actor,omitzero"`
	Source        string          `json:"source"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Hash          string          `json:"hash,omitempty"`
	PrevHash      string          `json:"prev_hash,omitempty"`
	Data          json.RawMessage `json:"data"`
}

type wireActor struct {
	UserID        string `json:"user_id,omitempty"`
	Role          string `json:"role,omitempty"`
	Establishment string `json:"establishment,omitempty"`
}

// Marshal returns env as one line of the format, without a line end. It
// refuses an envelope that domain.Envelope.Validate refuses, so that whatever
// Marshal writes, Unmarshal reads back. A zero SchemaVersion is written as the
// type's current schema version; times are written in UTC.
func Marshal(env *domain.Envelope) ([]byte, error) {
	if env == nil {
		return nil, domain.Errorf(domain.EInvalid, "jsonl: no envelope")
	}
	if err := env.Validate(); err != nil {
		return nil, domain.Errorf(domain.EInvalid, "jsonl: %s", domain.ErrorMessage(err))
	}
	if !inRange(env.RecordedAt) {
		return nil, domain.Errorf(domain.EInvalid, "jsonl: recorded-at %s is outside years 0000-9999", env.RecordedAt)
	}
	ev, err := utcEvent(env.Event)
	if err != nil {
		return nil, err
	}
	data, err := domain.EncodeEvent(ev)
	if err != nil {
		return nil, domain.Errorf(domain.EInvalid, "jsonl: encoding %s payload: %v", env.Type(), err)
	}
	version := env.SchemaVersion
	if version == 0 {
		version = domain.CurrentSchema(env.Type())
	}
	w := wireEnvelope{
		ID:            uuid.UUID(env.ID).String(),
		Stream:        env.Stream,
		Type:          env.Type(),
		SchemaVersion: version,
		Position:      env.Position,
		Revision:      env.Revision,
		RecordedAt:    env.RecordedAt.UTC().Format(time.RFC3339Nano),
		Actor: wireActor{
			UserID:        env.Actor.UserID,
			Role:          string(env.Actor.Role),
			Establishment: env.Actor.Establishment,
		},
		Source:        string(env.Source),
		CorrelationID: env.CorrelationID,
		Data:          data,
	}
	if !env.Hash.IsZero() {
		w.Hash = env.Hash.String()
	}
	if !env.PrevHash.IsZero() {
		w.PrevHash = env.PrevHash.String()
	}
	line, err := json.Marshal(&w)
	if err != nil {
		return nil, domain.Errorf(domain.EInvalid, "jsonl: encoding envelope: %v", err)
	}
	return line, nil
}

// utcEvent returns ev with its times in UTC: the format writes UTC only, and
// a reader must get back exactly the instants that were written.
func utcEvent(ev domain.Event) (domain.Event, error) {
	c, ok := ev.(domain.UnitClosed)
	if !ok {
		return ev, nil
	}
	c.Start = c.Start.UTC()
	if c.PlannedEnd.IsZero() {
		// The zero instant written with an offset is still "no planned end".
		c.PlannedEnd = time.Time{}
	} else {
		c.PlannedEnd = c.PlannedEnd.UTC()
	}
	if !inRange(c.Start) || !inRange(c.PlannedEnd) {
		return nil, domain.Errorf(domain.EInvalid, "jsonl: data: closure times must be within years 0000-9999 in UTC")
	}
	return c, nil
}

// inRange reports whether t, in UTC, has the four-digit year RFC 3339 needs.
func inRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}
