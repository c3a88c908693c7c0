package fixturegen

import (
	"container/heap"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"dispo/domain"
)

// IleDeFrance returns the log cfg describes, generated as it is iterated:
// memory holds the directory and each unit's state, never the log, so a
// benchmark can ask for millions of events. Each iteration yields the same
// envelopes. It returns an error if cfg is not valid.
//
// All units are registered in one import at 06:05 on the first day, then
// declare at office hours, Paris time. The log is sealed (domain.LogSealed,
// in stream domain.SealStream) at the end of every fourth week of the
// window and at its end. The log ends with the window, or after cfg.Events
// events.
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
	start, end   time.Time
	seals        int  // seals at the end of every fourth week made so far, plus 1
	endSealed    bool // the window's end sealed
	registration time.Time
	importCorr   string
	queue        unitQueue
	stamp        stamper
}

func newRegion(cfg Config) *region {
	start := midnight(cfg.Start, 0)
	g := &region{
		cfg:          cfg,
		start:        start,
		seals:        1,
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

// sealEvery is how often the log is sealed, from the window's start; it is
// sealed at the window's end too.
const sealEvery = 4 * 7 // days

// sealBefore is how long before the end of its week a seal is recorded:
// the last second of the week, so that it falls inside it (and the last one
// inside the window).
const sealBefore = time.Second

// nextSeal returns the end of the week of the next seal: the end of the
// next fourth week, or the window's end if it comes first and is not sealed
// yet. The seal is recorded sealBefore it.
func (g *region) nextSeal() time.Time {
	b := midnight(g.start, sealEvery*g.seals).UTC()
	if !g.endSealed && g.end.Before(b) {
		return g.end
	}
	return b
}

// seal yields the seal of the week ending at end, and says whether to go on.
func (g *region) seal(end time.Time, emitted *int, yield func(domain.Envelope) bool) bool {
	if end.Equal(g.end) {
		g.endSealed = true
	}
	if end.Equal(midnight(g.start, sealEvery*g.seals).UTC()) {
		g.seals++
	}
	if !yield(g.stamp.seal(end.Add(-sealBefore))) {
		return false
	}
	*emitted++
	return *emitted != g.cfg.Events
}

func (g *region) run(yield func(domain.Envelope) bool) {
	emitted := 0
	for g.queue.Len() > 0 {
		u := g.queue.units[0]
		// The seals due first; the window's last one ends it.
		for at := g.nextSeal(); !u.due.Before(at.Add(-sealBefore)) && (g.cfg.Events != 0 || !at.After(g.end)); at = g.nextSeal() {
			if !g.seal(at, &emitted, yield) {
				return
			}
		}
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
	// Every unit done before the window's end: seal up to it.
	for at := g.nextSeal(); g.cfg.Events == 0 && !at.After(g.end); at = g.nextSeal() {
		if !g.seal(at, &emitted, yield) {
			return
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

// stamper gives events what a log would: ids, positions, revisions, and the
// hash chain of each stream (domain.Chain), as the writer of a log does.
type stamper struct {
	ids      *rand.ChaCha8
	position uint64
	heads    map[string]head // every stream's newest event
}

// head is where a stream stands: its next revision and its last hash.
type head struct {
	next uint64
	hash domain.Hash
}

// envelopes stamps a group of events of unit id, whose stream is at
// *revision, a fresh correlation id first when the group has none.
func (s *stamper) envelopes(unitID string, revision *uint64, g group) []domain.Envelope {
	return s.stamp(domain.UnitStream(unitID), revision, g)
}

func (s *stamper) stamp(stream string, revision *uint64, g group) []domain.Envelope {
	if g.corr == "" {
		g.corr = newUUID(s.ids).String()
	}
	if s.heads == nil {
		s.heads = map[string]head{}
	}
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
	if err := domain.Chain(out, s.heads[stream].hash); err != nil {
		panic("fixturegen: " + err.Error()) // generated events always encode
	}
	if n := len(out); n > 0 {
		s.heads[stream] = head{next: *revision, hash: out[n-1].Hash}
	}
	return out
}

// seal stamps a seal at instant at: the revision and hash of every stream
// but the seal stream (whose own chain links the seals), sorted by stream.
func (s *stamper) seal(at time.Time) domain.Envelope {
	heads := make([]domain.StreamHead, 0, len(s.heads))
	for stream, h := range s.heads {
		if stream != domain.SealStream {
			heads = append(heads, domain.StreamHead{Stream: stream, Revision: h.next - 1, Hash: h.hash.String()})
		}
	}
	slices.SortFunc(heads, func(a, b domain.StreamHead) int { return strings.Compare(a.Stream, b.Stream) })
	rev := s.heads[domain.SealStream].next
	return s.stamp(domain.SealStream, &rev, group{at: at, actor: admin, source: domain.SourceManual,
		events: []domain.Event{domain.LogSealed{Heads: heads}}})[0]
}
