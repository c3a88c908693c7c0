package esdblog

import (
	"encoding/json"
	"fmt"
	"time"

	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// contentType is the content type of every dispo event, data and metadata.
const contentType = "application/json"

// metadata is the JSON metadata of a dispo event. Key names are part of the
// stored format, do not change them. $correlationId is EventStoreDB's own
// key: its $by_correlation_id projection reads it.
type metadata struct {
	RecordedAt    string         `json:"recorded_at"`
	SchemaVersion int            `json:"schema_version"`
	Source        string         `json:"source"`
	Actor         *metadataActor `json:"actor,omitempty"`
	CorrelationID string         `json:"$correlationId,omitempty"`
	Hash          string         `json:"hash,omitempty"`
	PrevHash      string         `json:"prev_hash,omitempty"`
}

type metadataActor struct {
	UserID        string `json:"user_id,omitempty"`
	Role          string `json:"role,omitempty"`
	Establishment string `json:"establishment,omitempty"`
}

// encode returns env as the event EventStoreDB stores. env must be valid.
func encode(env *domain.Envelope) (esdb.EventData, error) {
	ev := env.Event
	if c, ok := ev.(domain.UnitClosed); ok {
		// Instants are stored in UTC, as everywhere dispo writes JSON.
		c.Start = c.Start.UTC()
		if !c.PlannedEnd.IsZero() {
			c.PlannedEnd = c.PlannedEnd.UTC()
		}
		ev = c
	}
	data, err := domain.EncodeEvent(ev)
	if err != nil {
		return esdb.EventData{}, domain.Errorf(domain.EInvalid, "encoding %s payload: %v", env.Type(), err)
	}
	version := env.SchemaVersion
	if version == 0 {
		version = domain.CurrentSchema(env.Type())
	}
	m := metadata{
		RecordedAt:    env.RecordedAt.UTC().Format(time.RFC3339Nano),
		SchemaVersion: version,
		Source:        string(env.Source),
		CorrelationID: env.CorrelationID,
	}
	if !env.Hash.IsZero() {
		m.Hash = env.Hash.String()
	}
	if !env.PrevHash.IsZero() {
		m.PrevHash = env.PrevHash.String()
	}
	if env.Actor != (domain.Actor{}) {
		m.Actor = &metadataActor{UserID: env.Actor.UserID, Role: string(env.Actor.Role), Establishment: env.Actor.Establishment}
	}
	meta, err := json.Marshal(&m)
	if err != nil {
		return esdb.EventData{}, domain.Errorf(domain.EInvalid, "encoding metadata: %v", err)
	}
	return esdb.EventData{
		EventID:     uuid.UUID(env.ID),
		EventType:   env.Type(),
		ContentType: esdb.ContentTypeJson,
		Data:        data,
		Metadata:    meta,
	}, nil
}

// decode returns the envelope of a recorded dispo event at dispo position
// pos; stream is its dispo stream name (the prefix removed).
func decode(ev *esdb.RecordedEvent, stream string, pos uint64) (domain.Envelope, error) {
	fail := func(format string, args ...any) (domain.Envelope, error) {
		return domain.Envelope{}, fmt.Errorf("esdblog: event %s of %s at revision %d: %s", ev.EventID, ev.StreamID, ev.EventNumber, fmt.Sprintf(format, args...))
	}
	if ev.ContentType != contentType {
		return fail("content type %q, want %q", ev.ContentType, contentType)
	}
	var m metadata
	if err := json.Unmarshal(ev.UserMetadata, &m); err != nil {
		return fail("metadata: %v", err)
	}
	at, err := time.Parse(time.RFC3339Nano, m.RecordedAt)
	if err != nil {
		return fail("metadata: recorded_at: %v", err)
	}
	e, err := domain.DecodeEvent(ev.EventType, m.SchemaVersion, ev.Data)
	if err != nil {
		return fail("%s", domain.ErrorMessage(err))
	}
	env := domain.Envelope{
		ID:            domain.EventID(ev.EventID),
		Stream:        stream,
		SchemaVersion: m.SchemaVersion,
		Position:      pos,
		Revision:      ev.EventNumber,
		RecordedAt:    at.UTC(),
		Source:        domain.Source(m.Source),
		CorrelationID: m.CorrelationID,
		Event:         e,
	}
	if m.Actor != nil {
		env.Actor = domain.Actor{UserID: m.Actor.UserID, Role: domain.Role(m.Actor.Role), Establishment: m.Actor.Establishment}
	}
	if m.Hash != "" {
		if env.Hash, err = domain.ParseHash(m.Hash); err != nil {
			return fail("metadata: hash: %s", domain.ErrorMessage(err))
		}
	}
	if m.PrevHash != "" {
		if env.PrevHash, err = domain.ParseHash(m.PrevHash); err != nil {
			return fail("metadata: prev_hash: %s", domain.ErrorMessage(err))
		}
	}
	return env, nil
}
