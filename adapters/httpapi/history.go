package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"dispo/domain"
	"dispo/projections"

	"github.com/google/uuid"
)

type actorBody struct {
	UserID        string      `json:"user_id,omitempty"`
	Role          domain.Role `json:"role,omitempty"`
	Establishment string      `json:"establishment,omitempty"`
}

type historyEventBody struct {
	Position      uint64          `json:"position"`
	Revision      uint64          `json:"revision"`
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	RecordedAt    time.Time       `json:"recorded_at"`
	RecordedParis string          `json:"recorded_at_paris"`
	Actor         actorBody       `json:"actor"`
	Source        domain.Source   `json:"source"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Data          json.RawMessage `json:"data"`
	State         unitBody        `json:"state"`
}

type historyBody struct {
	UnitID string             `json:"unit_id"`
	At     *time.Time         `json:"at,omitempty"`
	Count  int                `json:"count"`
	Events []historyEventBody `json:"events"`
}

// history answers a unit's whole stream, each event with the unit after it:
// read from the log's stream, not from a scan. ?at= stops at that instant.
// Auditors and admins read every unit; a responsable its establishments'.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	id, at, entries, err := s.requestedHistory(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := domain.Authorize(p, domain.ActHistory, entries[len(entries)-1].View.FINESS); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.cfg.Now()
	if !at.IsZero() {
		now = at
	}
	out := historyBody{UnitID: id, Count: len(entries), Events: make([]historyEventBody, len(entries))}
	if !at.IsZero() {
		out.At = &at
	}
	for i, e := range entries {
		out.Events[i], err = historyEventJSON(e, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// requestedHistory is the history the request names: the unit of the path
// up to ?at= (the whole stream without it).
func (s *Server) requestedHistory(r *http.Request) (string, time.Time, []projections.HistoryEntry, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	at, err := parseAt(r)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	entries, err := s.unitHistory(r, id, at)
	return id, at, entries, err
}

// unitHistory reads and folds a unit's stream; ENotFound when the unit has
// no event (at that instant).
func (s *Server) unitHistory(r *http.Request, id string, at time.Time) ([]projections.HistoryEntry, error) {
	if s.cfg.Streams == nil {
		return nil, domain.Errorf(domain.ENotFound, "l'historique n'est pas servi ici")
	}
	stream, err := s.cfg.Streams.ReadStreamForward(r.Context(), domain.UnitStream(id), 0, 0)
	if err != nil {
		return nil, err
	}
	entries := projections.UnitHistory(stream, at)
	if len(entries) == 0 || !entries[len(entries)-1].Registered {
		return nil, domain.Errorf(domain.ENotFound, "UO %s introuvable", id)
	}
	return entries, nil
}

// WriteHistoryLines writes entries as JSON lines, each event in the shape
// GET /units/{id}/history gives it: `dispo history --json` and the API
// share one schema. The states' bands are computed against now.
func WriteHistoryLines(w io.Writer, entries []projections.HistoryEntry, now time.Time) error {
	enc := json.NewEncoder(w)
	for _, e := range entries {
		b, err := historyEventJSON(e, now)
		if err != nil {
			return err
		}
		if err := enc.Encode(b); err != nil {
			return err
		}
	}
	return nil
}

func historyEventJSON(e projections.HistoryEntry, now time.Time) (historyEventBody, error) {
	data, err := domain.EncodeEvent(e.Event.Event)
	if err != nil {
		return historyEventBody{}, err
	}
	return historyEventBody{
		Position: e.Event.Position, Revision: e.Event.Revision, ID: formatID(e.Event.ID), Type: e.Event.Type(),
		RecordedAt: e.Event.RecordedAt.UTC(), RecordedParis: projections.FormatParis(e.Event.RecordedAt),
		Actor:  actorBody{UserID: e.Event.Actor.UserID, Role: e.Event.Actor.Role, Establishment: e.Event.Actor.Establishment},
		Source: e.Event.Source, CorrelationID: e.Event.CorrelationID, Data: data, State: unitJSON(e.View, now),
	}, nil
}

// parseAt reads ?at=, an RFC 3339 instant; zero when absent.
func parseAt(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("at")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		return time.Time{}, domain.FieldErrorf(domain.EInvalid, "at", "at doit être un instant RFC 3339, par exemple 2025-03-06T15:30:00+01:00")
	}
	return t.UTC(), nil
}

func formatID(id domain.EventID) string { return uuid.UUID(id).String() }

// unit answers GET /units/{id}: from the projections, as of ?at= when
// given (the whole log's fold then, so that a pool's figures are those of
// that instant too).
func (s *Server) unit(w http.ResponseWriter, r *http.Request) {
	s.query(s.getUnit).ServeHTTP(w, r)
}
