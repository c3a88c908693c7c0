package fixturegen

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"dispo/domain"
)

// Demo returns the Île-de-France log as a demo wants it at instant now: the
// default fixture's 26 weeks moved to end at the start of now's week (Paris
// time), then one last declaration of every open unit that keeps its weekly
// obligation, spread between the end of the window and now, more of them
// recent than old, so that every freshness band has units. The laggards of
// the fixture stay overdue. The same now gives the same log.
func Demo(now time.Time) ([]domain.Envelope, error) {
	cfg := DefaultIleDeFrance()
	weekStart := midnight(now, -int((now.In(paris).Weekday()+6)%7))
	cfg.Start = midnight(weekStart, -7*cfg.Weeks)
	gen, err := IleDeFrance(cfg)
	if err != nil {
		return nil, err
	}
	type unitLog struct {
		state    domain.UnitState
		declarer domain.Actor
		order    int
	}
	var evs []domain.Envelope
	units := map[string]*unitLog{}
	for env := range gen {
		u, ok := units[env.Stream]
		if !ok {
			u = &unitLog{order: len(units)}
			units[env.Stream] = u
		}
		u.state.Apply(&env)
		if _, ok := env.Event.(domain.AvailabilityDeclared); ok {
			u.declarer = env.Actor
		}
		evs = append(evs, env)
	}
	end := weekStart.UTC()
	span := now.Sub(end)
	if span <= time.Minute {
		return evs, nil
	}
	streams := make([]string, 0, len(units))
	for s := range units {
		streams = append(streams, s)
	}
	slices.SortFunc(streams, func(a, b string) int { return cmp.Compare(units[a].order, units[b].order) })
	src := chacha(cfg.Seed, "demo")
	r := rand.New(src)
	var fresh []domain.Envelope
	for _, s := range streams {
		u := units[s]
		last := u.state.LastDeclaredAt()
		if !u.state.Registered() || u.state.IsUnitClosed() || end.Sub(last) > 6*24*time.Hour {
			continue
		}
		// Ages spread evenly on a log scale from a minute to the whole
		// span: as many units in the last hour as in the last days.
		age := time.Duration(math.Exp(r.Float64()*math.Log(float64(span)/float64(time.Minute)))) * time.Minute
		d := u.state.Declared()
		capacity := d.Installed - d.ClosedPlaces
		avail := min(capacity, max(0, d.Available+r.IntN(3)-1))
		fresh = append(fresh, domain.Envelope{
			ID: domain.EventID(newUUID(src)), Stream: s, SchemaVersion: 1,
			RecordedAt: now.Add(-age).UTC().Truncate(time.Second), Actor: u.declarer, Source: domain.SourceManual,
			CorrelationID: newUUID(src).String(),
			Event:         domain.AvailabilityDeclared{Available: avail, Installed: d.Installed, ClosedPlaces: d.ClosedPlaces},
			Revision:      uint64(u.state.Revision() + 1),
		})
	}
	for i := range fresh {
		// Chained as the writer chains: one event per stream here.
		if err := domain.Chain(fresh[i:i+1], units[fresh[i].Stream].state.LastHash()); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(fresh, func(a, b domain.Envelope) int { return a.RecordedAt.Compare(b.RecordedAt) })
	for i := range fresh {
		fresh[i].Position = uint64(len(evs) + 1)
		evs = append(evs, fresh[i])
	}
	return evs, nil
}
