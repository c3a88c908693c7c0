package projections

import (
	"encoding/binary"
	"testing"
	"time"

	"dispo/domain"
)

// t0 is the instant the fixtures start at: the seed's 12:47 on 9 August 2024 in Paris.
var t0 = time.Date(2024, 8, 9, 10, 47, 0, 0, time.UTC)

// ledger builds a log of envelopes and folds them live.
type ledger struct {
	tb   testing.TB
	a    *Availability
	envs []*domain.Envelope
	pos  uint64
	revs map[string]uint64
	at   time.Time // RecordedAt of the next event
}

func newLedger(tb testing.TB) *ledger {
	tb.Helper()
	return &ledger{tb: tb, a: NewAvailability(), revs: map[string]uint64{}, at: t0}
}

// envelope returns a valid envelope for ev at the next position.
func (l *ledger) envelope(stream string, ev domain.Event) *domain.Envelope {
	l.tb.Helper()
	l.pos++
	env := &domain.Envelope{
		Stream:     stream,
		Position:   l.pos,
		Revision:   l.revs[stream],
		RecordedAt: l.at,
		Actor:      domain.Actor{UserID: "tester", Role: domain.RoleAdmin},
		Source:     domain.SourceManual,
		Event:      ev,
	}
	binary.BigEndian.PutUint64(env.ID[8:], l.pos)
	if err := env.Validate(); err != nil {
		l.tb.Fatalf("fixture builds an invalid envelope %s: %v", ev.EventType(), err)
	}
	l.revs[stream]++
	return env
}

// emit appends ev to stream and folds it.
func (l *ledger) emit(stream string, ev domain.Event) *domain.Envelope {
	l.tb.Helper()
	env := l.envelope(stream, ev)
	l.envs = append(l.envs, env)
	l.a.Apply(env)
	return env
}

func (l *ledger) unitEvent(id string, ev domain.Event) {
	l.tb.Helper()
	l.emit(domain.UnitStream(id), ev)
}

func mkUnit(id, dept, typ, est string) domain.Unit {
	return domain.Unit{
		ID:            id,
		FINESS:        (dept + "000000000")[:9],
		Establishment: est,
		Department:    dept,
		Type:          typ,
		Name:          "UO " + id,
		Phone:         "01 00 00 00 00",
	}
}

func (l *ledger) register(id, dept, typ, est string) domain.Unit {
	l.tb.Helper()
	u := mkUnit(id, dept, typ, est)
	l.unitEvent(id, domain.UnitRegistered{Unit: u})
	return u
}

func (l *ledger) declare(id string, available, installed, closed int) {
	l.tb.Helper()
	l.unitEvent(id, domain.AvailabilityDeclared{Available: available, Installed: installed, ClosedPlaces: closed})
}

func (l *ledger) close(id, reason string, reopenable bool) {
	l.tb.Helper()
	l.unitEvent(id, domain.UnitClosed{Reason: reason, Start: l.at, Reopenable: reopenable})
}

func (l *ledger) pool(id, pool string) { l.tb.Helper(); l.unitEvent(id, domain.UnitPooled{Pool: pool}) }

// view returns unit id's view or fails.
func (l *ledger) view(id string) UnitView {
	l.tb.Helper()
	v, ok := l.a.Unit(id)
	if !ok {
		l.tb.Fatalf("Unit(%q): not found", id)
	}
	return v
}

// cell returns the matrix cell of row code (type or category; "" for the
// Total row) and department ("" for the Total column).
func cell(tb testing.TB, m Matrix, code, dept string) Cell {
	tb.Helper()
	row := m.Total
	if code != "" {
		found := false
		for _, r := range m.Rows {
			// A single-type category shares its code with its type: prefer the type row.
			if r.Code() == code && (!found || r.Kind == TypeRow) {
				row, found = r, true
			}
		}
		if !found {
			tb.Fatalf("matrix has no row %q", code)
		}
	}
	if dept == "" {
		return row.Total
	}
	c := m.Column(dept)
	if c < 0 {
		tb.Fatalf("matrix has no column %q: %v", dept, m.Departments)
	}
	return row.Cells[c]
}

func categoryCell(tb testing.TB, m Matrix, cat, dept string) Cell {
	tb.Helper()
	for _, r := range m.Rows {
		if r.Kind == CategoryRow && r.Category == cat {
			if dept == "" {
				return r.Total
			}
			return r.Cells[m.Column(dept)]
		}
	}
	tb.Fatalf("matrix has no category row %q", cat)
	return Cell{}
}
