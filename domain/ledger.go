package domain

import (
	"context"
	"errors"
	"sync"
	"time"
)

// UnitLog is what the Ledger needs of an event log.
type UnitLog interface {
	ReadStreamForward(ctx context.Context, stream string, from uint64, max int) ([]Envelope, error)
	Append(ctx context.Context, stream string, expected ExpectedRevision, events []Envelope) (AppendResult, error)
}

// Ledger executes commands on units: load the unit's stream, decide, append
// at the revision it was loaded at. It keeps each unit's folded state so a
// command reads only the events appended since the last one.
type Ledger struct {
	log   UnitLog
	now   func() time.Time
	newID func() EventID

	mu    sync.Mutex
	cache map[string]*cached
}

type cached struct {
	mu    sync.Mutex // serialises commands on one unit in this process
	state UnitState
	// The unit's newest event ids: an idempotent retry comes soon after the
	// request it repeats, so a short memory is enough and stays bounded.
	recent []recentID
}

type recentID struct {
	id  EventID
	res AppendResult
}

const recentIDs = 64

func (c *cached) remember(id EventID, res AppendResult) {
	if len(c.recent) == recentIDs {
		copy(c.recent, c.recent[1:])
		c.recent = c.recent[:recentIDs-1]
	}
	c.recent = append(c.recent, recentID{id, res})
}

func (c *cached) lookup(id EventID) (AppendResult, bool) {
	for _, r := range c.recent {
		if r.id == id {
			return r.res, true
		}
	}
	return AppendResult{}, false
}

// replayed returns the result of the append whose first event has id ids(0),
// if c remembers it. Events folded from the stream (after a restart, or
// appended by another replica) are remembered each with its own position
// only: the result is extended over the append's next ids, which follow it
// at contiguous positions, so that it ends where the original append ended.
func (c *cached) replayed(ids func(int) EventID) (AppendResult, bool) {
	res, ok := c.lookup(ids(0))
	for i := 1; ok && i < recentIDs; i++ {
		r, found := c.lookup(ids(i))
		if !found || r.FirstPosition != res.LastPosition+1 {
			break
		}
		res.LastPosition, res.Revision = r.LastPosition, r.Revision
	}
	return res, ok
}

// NewLedger returns a Ledger over log, stamping events with now() and ids
// from newID (time-ordered ids keep the log's id index append-only).
func NewLedger(log UnitLog, now func() time.Time, newID func() EventID) *Ledger {
	return &Ledger{log: log, now: now, newID: newID, cache: map[string]*cached{}}
}

// Request is a command on a unit with what the envelope records.
type Request struct {
	UnitID        string
	Command       Command
	Actor         Actor
	Source        Source
	CorrelationID string
	// IfMatch, if not nil, is the revision the client saw: if the unit has
	// moved on, Execute returns a *ConflictError and decides nothing.
	IfMatch *int64
	// EventIDs, if given, are the ids of the events the command makes
	// (derived from an idempotency key): when the first is already stored,
	// Execute returns the original outcome and appends nothing.
	EventIDs func(i int) EventID
	// Principal, if not nil, is who asks: Execute authorizes the command
	// against the unit as loaded, under the unit's lock (so the habilitation
	// is checked against exactly the establishment the command applies to),
	// and records it as the actor. Without it, Actor is recorded as given.
	Principal *Principal
}

// Outcome is what an executed command did.
type Outcome struct {
	State    UnitState    // the unit after the command
	Result   AppendResult // positions reached; zero when nothing was appended
	Appended int          // events appended
	Replayed bool         // an idempotent retry: the events were already stored
}

// maxRetries bounds the reloads when another writer appends between our
// read and our append. A conflict is retried only if the stream moved on, so
// each retry is another writer's success; but a writer that must read what
// it missed loses the next race to a busy writer that need not (its cache is
// already at the head), again and again: with two replicas declaring on one
// unit, runs of a hundred losses were seen. The bound is for a runaway, not
// for contention.
const maxRetries = 1000

// Execute runs req. Errors: EInvalid for a bad unit id or values, ENotFound
// for an unknown unit, EUnitClosed for a declaration on a closed unit,
// EConflict for a contradiction, *ConflictError for an If-Match mismatch.
func (l *Ledger) Execute(ctx context.Context, req Request) (Outcome, error) {
	if !ValidUnitID(req.UnitID) {
		return Outcome{}, InvalidUnitID("unit_id", req.UnitID)
	}
	if ActionOf(req.Command) == "" {
		return Outcome{}, Errorf(EInvalid, "commande inconnue")
	}
	if reg, ok := req.Command.(RegisterUnit); ok && reg.Unit.ID != req.UnitID {
		return Outcome{}, FieldErrorf(EInvalid, "unit_id", "l'identifiant %q ne correspond pas à celui de l'UO enregistrée (%q)", req.UnitID, reg.Unit.ID)
	}
	c := l.entry(req.UnitID)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer l.forgetUnknown(req.UnitID, c)
	stream := UnitStream(req.UnitID)
	for attempt := 0; ; attempt++ {
		if err := l.catchUp(ctx, c, stream); err != nil {
			return Outcome{}, err
		}
		actor := req.Actor
		if req.Principal != nil {
			finess := c.state.unit.FINESS
			if reg, ok := req.Command.(RegisterUnit); ok {
				finess = reg.Unit.FINESS
			} else if !c.state.registered {
				return Outcome{}, Errorf(ENotFound, "UO %s introuvable", req.UnitID)
			}
			if err := Authorize(*req.Principal, ActionOf(req.Command), finess); err != nil {
				return Outcome{}, err
			}
			actor = req.Principal.Actor(finess)
		}
		// A replay is answered after the rights are checked, with the rights
		// held now: a habilitation revoked since the first attempt is revoked
		// for its retries too.
		if req.EventIDs != nil {
			if res, ok := c.replayed(req.EventIDs); ok {
				return Outcome{State: c.state, Result: res, Replayed: true}, nil
			}
		}
		if req.IfMatch != nil && *req.IfMatch != c.state.Revision() {
			return Outcome{}, &ConflictError{Stream: stream, Expected: Exact(*req.IfMatch), Actual: c.state.Revision(), Reason: "l'UO a changé depuis sa lecture (If-Match)"}
		}
		cmd := req.Command
		if d, ok := cmd.(DeclareAvailability); ok && req.Principal != nil {
			// Where the figures come from is who declares them: a person,
			// or the program whose account says what it is.
			d.CapacitySource = req.Principal.CapacitySource
			cmd = d
		}
		events, err := Decide(&c.state, cmd, l.now())
		if err != nil {
			return Outcome{}, err
		}
		if len(events) == 0 {
			return Outcome{State: c.state}, nil
		}
		envs := make([]Envelope, len(events))
		at := l.now().UTC()
		for i, e := range events {
			id := l.newID()
			if req.EventIDs != nil {
				id = req.EventIDs(i)
			}
			envs[i] = Envelope{ID: id, Stream: stream, SchemaVersion: CurrentSchema(e.EventType()), RecordedAt: at,
				Actor: actor, Source: req.Source, CorrelationID: req.CorrelationID, Event: e,
				Revision: uint64(c.state.Revision() + 1 + int64(i))}
		}
		// The stream's appends are serialised by the expected revision: the
		// chain computed here is the stream's whichever writer wins.
		if err := Chain(envs, c.state.LastHash()); err != nil {
			return Outcome{}, err
		}
		res, err := l.log.Append(ctx, stream, Exact(c.state.Revision()), envs)
		var conflict *ConflictError
		if errors.As(err, &conflict) && conflict.Actual > c.state.Revision() && attempt < maxRetries {
			continue // another process appended: fold its events and decide again
		}
		if err != nil {
			return Outcome{}, err
		}
		for i := range envs {
			envs[i].Position, envs[i].Revision = res.FirstPosition+uint64(i), uint64(c.state.Revision()+1)
			c.state.Apply(&envs[i])
			c.remember(envs[i].ID, res)
		}
		return Outcome{State: c.state, Result: res, Appended: len(envs)}, nil
	}
}

// State returns the current state of a unit, read from the log.
func (l *Ledger) State(ctx context.Context, unitID string) (UnitState, error) {
	if !ValidUnitID(unitID) {
		return UnitState{}, InvalidUnitID("unit_id", unitID)
	}
	c := l.entry(unitID)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer l.forgetUnknown(unitID, c)
	if err := l.catchUp(ctx, c, UnitStream(unitID)); err != nil {
		return UnitState{}, err
	}
	return c.state, nil
}

func (l *Ledger) entry(unitID string) *cached {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.cache[unitID]
	if !ok {
		c = &cached{}
		l.cache[unitID] = c
	}
	return c
}

// forgetUnknown drops the entry of a unit that turned out not to exist, so
// requests naming made-up units leave nothing behind. Called with c locked.
func (l *Ledger) forgetUnknown(unitID string, c *cached) {
	if c.state.registered {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cache[unitID] == c {
		delete(l.cache, unitID)
	}
}

// catchUp folds what the stream gained since c was last read. Event ids
// seen on the way are remembered so that an idempotent retry arriving after
// a restart, or at another replica, is recognised too.
func (l *Ledger) catchUp(ctx context.Context, c *cached, stream string) error {
	evs, err := l.log.ReadStreamForward(ctx, stream, uint64(c.state.Revision()+1), 0)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	for i := range evs {
		c.state.Apply(&evs[i])
		c.remember(evs[i].ID, AppendResult{FirstPosition: evs[i].Position, LastPosition: evs[i].Position, Revision: int64(evs[i].Revision)})
	}
	return nil
}
