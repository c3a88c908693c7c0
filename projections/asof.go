package projections

import (
	"context"
	"iter"
	"sort"
	"time"

	"dispo/domain"
)

// checkpointEvery is how many events separate two kept copies of the
// availability fold. An as-of query copies the last one before its instant
// and folds at most that many events from the log: with 180 units a copy
// is ~100 KB, so a million events keep ~12 MB of them, and a query folds
// at most 8,192 events (a few milliseconds).
const checkpointEvery = 8192

type checkpoint struct {
	pos  uint64
	last time.Time // recorded-at of the event at pos
	a    *Availability
}

// Clone returns a deep copy of a: folding into the copy leaves a unchanged.
func (a *Availability) Clone() *Availability {
	c := &Availability{pos: a.pos, seq: a.seq, units: make(map[string]*entry, len(a.units)),
		pools: make(map[string]*pool, len(a.pools)), listed: make([]*entry, 0, len(a.listed))}
	for id, e := range a.units {
		ce := *e // the record holds no pointer: the copy shares nothing
		ce.pool = nil
		c.units[id] = &ce
	}
	for id, p := range a.pools {
		cp := &pool{id: p.id, available: p.available, seq: p.seq, updated: p.updated, members: make([]*entry, len(p.members))}
		for i, m := range p.members {
			cm := c.units[m.id]
			cp.members[i], cm.pool = cm, cp
		}
		c.pools[id] = cp
	}
	for _, e := range a.listed {
		c.listed = append(c.listed, c.units[e.id])
	}
	return c
}

// AllReader is what an as-of query needs of the log.
type AllReader interface {
	ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// AsOf returns the availability fold as it stood at instant at: every event
// recorded at or before it, from the last checkpoint before it on. It
// relies on recorded-at times following positions, as the server's clock
// stamps them; the fold stops at the first event recorded after at.
func (l *Live) AsOf(ctx context.Context, at time.Time, src AllReader) (*Availability, error) {
	l.mu.RLock()
	i := sort.Search(len(l.checkpoints), func(i int) bool { return l.checkpoints[i].last.After(at) })
	var base *Availability
	if i > 0 {
		base = l.checkpoints[i-1].a
	}
	l.mu.RUnlock()
	a := NewAvailability()
	if base != nil {
		a = base.Clone()
	}
	for env, err := range src.ReadAll(ctx, a.Position()) {
		if err != nil {
			return nil, err
		}
		if env.RecordedAt.After(at) {
			break
		}
		a.Apply(&env)
	}
	return a, nil
}

// AsOfPosition returns the availability fold as it stood after the event
// at position pos (the empty fold for 0): what a client paging through
// results taken at pos reads, however far the log has moved since.
func (l *Live) AsOfPosition(ctx context.Context, pos uint64, src AllReader) (*Availability, error) {
	l.mu.RLock()
	i := sort.Search(len(l.checkpoints), func(i int) bool { return l.checkpoints[i].pos > pos })
	var base *Availability
	if i > 0 {
		base = l.checkpoints[i-1].a
	}
	l.mu.RUnlock()
	a := NewAvailability()
	if base != nil {
		a = base.Clone()
	}
	if a.Position() >= pos {
		return a, nil
	}
	for env, err := range src.ReadAll(ctx, a.Position()) {
		if err != nil {
			return nil, err
		}
		if env.Position > pos {
			break
		}
		a.Apply(&env)
		if env.Position == pos {
			break
		}
	}
	return a, nil
}

// keepCheckpoint is called under the write lock after each event.
func (l *Live) keepCheckpoint(env *domain.Envelope) {
	n := len(l.checkpoints)
	if n > 0 && l.a.Position()-l.checkpoints[n-1].pos < checkpointEvery || n == 0 && l.a.Position() < checkpointEvery {
		return
	}
	l.checkpoints = append(l.checkpoints, checkpoint{pos: l.a.Position(), last: env.RecordedAt, a: l.a.Clone()})
}

// RebuildCheckpoints folds the log from position 0 up to the first
// checkpoint this Live holds (the one Restore keeps) and installs the
// checkpoints of that stretch, so that as-of queries before the image
// are bounded again. A server runs it in the background after resuming.
func (l *Live) RebuildCheckpoints(ctx context.Context, src AllReader) error {
	l.mu.RLock()
	var upto uint64
	if len(l.checkpoints) > 0 {
		upto = l.checkpoints[0].pos
	}
	l.mu.RUnlock()
	if upto <= checkpointEvery {
		return nil
	}
	a := NewAvailability()
	var rebuilt []checkpoint
	for env, err := range src.ReadAll(ctx, 0) {
		if err != nil {
			return err
		}
		if env.Position >= upto {
			break
		}
		a.Apply(&env)
		if n := len(rebuilt); a.Position()%checkpointEvery == 0 || n > 0 && a.Position()-rebuilt[n-1].pos >= checkpointEvery {
			rebuilt = append(rebuilt, checkpoint{pos: a.Position(), last: env.RecordedAt, a: a.Clone()})
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.checkpoints) == 0 || l.checkpoints[0].pos != upto {
		return nil // the Live changed under us; leave it as it is
	}
	l.checkpoints = append(rebuilt, l.checkpoints...)
	return nil
}
