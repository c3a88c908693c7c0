package fixturegen_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"dispo/domain"
)

// logChecker checks envelopes as a log would hold them, one at a time: each
// valid, positions gapless from 1, times never going back, revisions from 0
// per stream, each chained to its stream's previous event, every event of a
// unit exactly what domain.Decide yields for the matching command on the
// state folded so far, and every seal the heads of the other streams.
type logChecker struct {
	states   map[string]*domain.UnitState
	position uint64
	last     time.Time
	ids      map[domain.EventID]bool
}

func newLogChecker() *logChecker {
	return &logChecker{states: map[string]*domain.UnitState{}, ids: map[domain.EventID]bool{}}
}

func (c *logChecker) check(env domain.Envelope) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("position %d: invalid envelope: %v", env.Position, err)
	}
	c.position++
	if env.Position != c.position {
		return fmt.Errorf("position %d after %d", env.Position, c.position-1)
	}
	if c.ids[env.ID] {
		return fmt.Errorf("position %d: id used twice", env.Position)
	}
	c.ids[env.ID] = true
	if env.RecordedAt.Before(c.last) {
		return fmt.Errorf("position %d: recorded at %v, before the previous event (%v)", env.Position, env.RecordedAt, c.last)
	}
	c.last = env.RecordedAt
	if env.RecordedAt.Location() != time.UTC {
		return fmt.Errorf("position %d: recorded-at not in UTC", env.Position)
	}
	if env.SchemaVersion != domain.CurrentSchema(env.Type()) {
		return fmt.Errorf("position %d: schema version %d", env.Position, env.SchemaVersion)
	}
	s := c.states[env.Stream]
	if s == nil {
		s = &domain.UnitState{}
		c.states[env.Stream] = s
	}
	if want := uint64(s.Revision() + 1); env.Revision != want {
		return fmt.Errorf("position %d: revision %d in %s, want %d", env.Position, env.Revision, env.Stream, want)
	}
	// Chained as the writer chains: to the stream's previous event.
	if env.PrevHash != s.LastHash() {
		return fmt.Errorf("position %d: prev_hash is not the hash of the previous event of %s", env.Position, env.Stream)
	}
	if h, err := domain.ChainHash(&env, env.PrevHash); err != nil || h != env.Hash {
		return fmt.Errorf("position %d: hash does not match the event (%v)", env.Position, err)
	}
	if seal, ok := env.Event.(domain.LogSealed); ok {
		if err := c.checkSeal(env, seal); err != nil {
			return err
		}
		s.Apply(&env)
		return nil
	}
	if id, ok := domain.UnitIDFromStream(env.Stream); !ok || (s.Registered() && id != s.Unit().ID) {
		return fmt.Errorf("position %d: stream %s is not the unit's", env.Position, env.Stream)
	}
	evs, err := domain.Decide(s, commandFor(env.Event), env.RecordedAt)
	if err != nil {
		return fmt.Errorf("position %d: %s in %s not decidable: %v", env.Position, env.Type(), env.Stream, err)
	}
	if len(evs) != 1 || !reflect.DeepEqual(evs[0], env.Event) {
		return fmt.Errorf("position %d: Decide yields %#v, the log has %#v", env.Position, evs, env.Event)
	}
	s.Apply(&env)
	return nil
}

// checkSeal checks that a seal, in the seal stream, by an admin, commits
// to the head of every other stream, sorted by stream.
func (c *logChecker) checkSeal(env domain.Envelope, seal domain.LogSealed) error {
	if env.Stream != domain.SealStream || env.Actor.Role != domain.RoleAdmin || env.Source != domain.SourceManual {
		return fmt.Errorf("position %d: seal in %s by %+v through %s", env.Position, env.Stream, env.Actor, env.Source)
	}
	var want []domain.StreamHead
	for stream, s := range c.states {
		if stream != domain.SealStream {
			want = append(want, domain.StreamHead{Stream: stream, Revision: uint64(s.Revision()), Hash: s.LastHash().String()})
		}
	}
	slices.SortFunc(want, func(a, b domain.StreamHead) int { return strings.Compare(a.Stream, b.Stream) })
	if !slices.Equal(seal.Heads, want) {
		return fmt.Errorf("position %d: the seal's heads\n%v\nare not the streams'\n%v", env.Position, seal.Heads, want)
	}
	return nil
}

// commandFor returns the command whose decision is ev.
func commandFor(ev domain.Event) domain.Command {
	switch e := ev.(type) {
	case domain.UnitRegistered:
		return domain.RegisterUnit{Unit: e.Unit}
	case domain.UnitDetailsChanged:
		return domain.ChangeUnitDetails{Unit: e.Unit}
	case domain.AvailabilityDeclared:
		return domain.DeclareAvailability{Available: e.Available, Installed: e.Installed, ClosedPlaces: e.ClosedPlaces}
	case domain.CommentSet:
		return domain.SetComment(e)
	case domain.CommentCleared:
		return domain.ClearComment{}
	case domain.UnitClosed:
		return domain.CloseUnit(e)
	case domain.UnitReopened:
		return domain.ReopenUnit{}
	case domain.UnitPooled:
		return domain.PoolUnit(e)
	case domain.UnitUnpooled:
		return domain.UnpoolUnit{}
	}
	return nil
}
