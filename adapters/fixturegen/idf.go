package fixturegen

import (
	"container/heap"
	"fmt"
	"iter"
	"math/rand/v2"
	"time"

	"dispo/domain"
)

// IleDeFrance returns the log cfg describes, generated as it is iterated:
// memory holds the directory and each unit's state, never the log, so a
// benchmark can ask for millions of events. Each iteration yields the same
// envelopes. It returns an error if cfg is not valid.
//
// All units are registered in one import at 06:05 on the first day, then
// declare at office hours, Paris time. The log ends with the window, or
// after cfg.Events events.
func IleDeFrance(cfg Config) (iter.Seq[domain.Envelope], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return func(yield func(domain.Envelope) bool) {
		newRegion(cfg).run(yield)
	}, nil
}

// region is one run of the Île-de-France generator.
type region struct {
	cfg          Config
	end          time.Time
	registration time.Time
	importCorr   string
	queue        unitQueue
	stamp        stamper
}

func newRegion(cfg Config) *region {
	start := midnight(cfg.Start, 0)
	g := &region{
		cfg:          cfg,
		end:          midnight(start, 7*cfg.Weeks).UTC(),
		registration: onDay(start, 6, 5),
		stamp:        stamper{ids: chacha(cfg.Seed, "ids")},
	}
	dirSrc := chacha(cfg.Seed, "directory")
	r := rand.New(dirSrc)
	ests := buildDirectory(cfg, r)
	plan(cfg, r, dirSrc, ests, start, g.end)
	g.importCorr = newUUID(dirSrc).String()
	for _, e := range ests {
		for _, u := range e.units {
			u.idx = len(g.queue.units)
			u.rng = rand.New(chacha(cfg.Seed, fmt.Sprintf("unit %d", u.idx)))
			u.due = g.registration
			g.queue.units = append(g.queue.units, u)
		}
	}
	heap.Init(&g.queue)
	return g
}

func (g *region) run(yield func(domain.Envelope) bool) {
	emitted := 0
	for g.queue.Len() > 0 {
		u := g.queue.units[0]
		if g.cfg.Events == 0 && !u.due.Before(g.end) {
			return
		}
		grp := u.step(u.due, g.importCorr)
		for _, env := range g.stamp.envelopes(u.unit.ID, &u.revision, grp) {
			if !yield(env) {
				return
			}
			if emitted++; emitted == g.cfg.Events {
				return
			}
		}
		var ok bool
		if u.due, ok = u.nextAt(); ok {
			heap.Fix(&g.queue, 0)
		} else {
			heap.Pop(&g.queue)
		}
	}
}

// unitQueue orders units by the instant of their next action, then by
// registration order, so that positions follow recorded-at times.
type unitQueue struct {
	units []*unitGen
}

func (q *unitQueue) Len() int { return len(q.units) }

func (q *unitQueue) Less(i, j int) bool {
	a, b := q.units[i], q.units[j]
	if !a.due.Equal(b.due) {
		return a.due.Before(b.due)
	}
	return a.idx < b.idx
}

func (q *unitQueue) Swap(i, j int) { q.units[i], q.units[j] = q.units[j], q.units[i] }
func (q *unitQueue) Push(x any)    { q.units = append(q.units, x.(*unitGen)) }
func (q *unitQueue) Pop() any {
	u := q.units[len(q.units)-1]
	q.units = q.units[:len(q.units)-1]
	return u
}

// stamper gives events what a log would: ids, positions, revisions.
type stamper struct {
	ids      *rand.ChaCha8
	position uint64
}

// envelopes stamps a group of events of unit id, whose stream is at
// *revision, a fresh correlation id first when the group has none.
func (s *stamper) envelopes(unitID string, revision *uint64, g group) []domain.Envelope {
	if g.corr == "" {
		g.corr = newUUID(s.ids).String()
	}
	stream := domain.UnitStream(unitID)
	out := make([]domain.Envelope, len(g.events))
	for i, ev := range g.events {
		s.position++
		out[i] = domain.Envelope{
			ID:            domain.EventID(newUUID(s.ids)),
			Stream:        stream,
			SchemaVersion: domain.CurrentSchema(ev.EventType()),
			Position:      s.position,
			Revision:      *revision,
			RecordedAt:    g.at,
			Actor:         g.actor,
			Source:        g.source,
			CorrelationID: g.corr,
			Event:         ev,
		}
		*revision++
	}
	return out
}
