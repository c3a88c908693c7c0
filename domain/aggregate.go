package domain

import (
	"time"
)

// Closure is an ongoing "indisponibilité totale".
type Closure struct {
	Reason     string
	Start      time.Time
	PlannedEnd time.Time // zero when none was given
	Reopenable bool
}

// UnitState is a unit folded from its stream: what the rules (rules.go)
// judge the next event against. It is not what people read: the read model
// (package projections) renders units, pools included. The zero value is a
// unit that does not exist yet (revision NoStreamRevision).
type UnitState struct {
	registered     bool
	retired        bool
	unit           Unit
	decl           AvailabilityDeclared // the last declaration, as corrected
	declID         EventID              // its event, what a correction names
	lastDeclaredAt time.Time
	// awaiting: reopened and not declared since, so decl is what was true
	// before the closure.
	awaiting  bool
	comment   string
	commentAt time.Time
	closure   *Closure
	pool      string
	events    uint64
	lastHash  Hash
}

func (s *UnitState) Registered() bool               { return s.registered }
func (s *UnitState) Retired() bool                  { return s.retired }
func (s *UnitState) Unit() Unit                     { return s.unit }
func (s *UnitState) Declared() AvailabilityDeclared { return s.decl }
func (s *UnitState) LastDeclaredAt() time.Time      { return s.lastDeclaredAt }
func (s *UnitState) Comment() string                { return s.comment }
func (s *UnitState) Pool() string                   { return s.pool }

// IsUnitClosed reports whether the unit is in indisponibilité totale (not
// to be confused with its closed places, Declared().ClosedPlaces).
func (s *UnitState) IsUnitClosed() bool { return s.closure != nil }

// AwaitingDeclaration reports whether the unit reopened and has not declared
// since: its last figures are those of before the closure.
func (s *UnitState) AwaitingDeclaration() bool { return s.awaiting }

// DeclarationID is the event id of the last declaration, zero if none: the
// one a correction may name.
func (s *UnitState) DeclarationID() EventID { return s.declID }

// CommentAt is when the comment was set (zero without one).
func (s *UnitState) CommentAt() time.Time { return s.commentAt }

// LastHash is the Hash of the last event applied (zero before any, or when
// that event was not chained): the PrevHash of the next append.
func (s *UnitState) LastHash() Hash { return s.lastHash }

// Closure returns the ongoing closure, if any.
func (s *UnitState) Closure() (Closure, bool) {
	if s.closure == nil {
		return Closure{}, false
	}
	return *s.closure, true
}

// Revision is the stream revision the state was folded to, NoStreamRevision
// before any event: the expected revision of the next append.
func (s *UnitState) Revision() int64 { return int64(s.events) - 1 }

// Apply folds one event of the unit's stream. Events are facts: Apply never
// refuses one, so a stream always folds.
func (s *UnitState) Apply(env *Envelope) {
	s.events++
	s.lastHash = env.Hash
	switch e := env.Event.(type) {
	case UnitRegistered:
		s.registered = true
		s.unit = e.Unit
	case UnitDetailsChanged:
		s.unit = e.Unit
	case AvailabilityDeclared:
		s.decl, s.declID, s.lastDeclaredAt, s.awaiting = e, env.ID, env.RecordedAt, false
	case AvailabilityCorrected:
		s.decl = AvailabilityDeclared{Available: e.Available, Installed: e.Installed, ClosedPlaces: e.ClosedPlaces}
	case CommentSet:
		s.comment, s.commentAt = e.Text, env.RecordedAt
	case CommentCleared:
		s.comment, s.commentAt = "", time.Time{}
	case UnitClosed:
		s.closure = &Closure{Reason: e.Reason, Start: e.Start, PlannedEnd: e.PlannedEnd, Reopenable: e.Reopenable}
	case UnitReopened:
		s.closure, s.awaiting = nil, true
	case ClosureCancelled:
		s.closure = nil
	case UnitPooled:
		s.pool = e.Pool
	case UnitUnpooled:
		s.pool = ""
	case UnitRetired:
		s.retired = true
	}
}

// Command is a request to change a unit. Decide turns it into the events
// it proposes and judges them by the rule book.
type Command interface {
	// Name is the command's stable name (idempotency keys derive from it).
	Name() string
}

type (
	RegisterUnit        struct{ Unit Unit }
	ChangeUnitDetails   struct{ Unit Unit }
	DeclareAvailability struct {
		Available, Installed, ClosedPlaces int
		// Comment, if not nil, is set (or cleared when empty) with the
		// declaration, in the same append: the "Mise à jour" form sends both.
		Comment *string
		// CapacitySource: see AvailabilityDeclared. The ledger sets it
		// from the principal who asks, when there is one.
		CapacitySource string
		// ClosingType: see AvailabilityDeclared.
		ClosingType string
	}
	// CorrectDeclaration corrects the unit's last declaration, named by
	// its event id (DeclarationID).
	CorrectDeclaration struct {
		Corrects                           string
		Available, Installed, ClosedPlaces int
		Reason                             string
	}
	SetComment   struct{ Text string }
	ClearComment struct{}
	CloseUnit    struct {
		Reason     string
		Start      time.Time // zero means now
		PlannedEnd time.Time // zero means none
		Reopenable bool
	}
	ReopenUnit    struct{}
	CancelClosure struct{ Reason string }
	RetireUnit    struct{ Reason string }
	PoolUnit      struct{ Pool string }
	UnpoolUnit    struct{}
)

func (RegisterUnit) Name() string        { return "register" }
func (ChangeUnitDetails) Name() string   { return "change_details" }
func (DeclareAvailability) Name() string { return "declare" }
func (CorrectDeclaration) Name() string  { return "correct_declaration" }
func (SetComment) Name() string          { return "set_comment" }
func (ClearComment) Name() string        { return "clear_comment" }
func (CloseUnit) Name() string           { return "close" }
func (ReopenUnit) Name() string          { return "reopen" }
func (CancelClosure) Name() string       { return "cancel_closure" }
func (RetireUnit) Name() string          { return "retire" }
func (PoolUnit) Name() string            { return "pool" }
func (UnpoolUnit) Name() string          { return "unpool" }

// ActionOf is the habilitation a command needs; "" for a value that is not
// one of the domain's commands (a pointer to one included), which Decide
// refuses.
func ActionOf(cmd Command) Action {
	switch cmd.(type) {
	case RegisterUnit, ChangeUnitDetails, PoolUnit, UnpoolUnit, CancelClosure, RetireUnit:
		return ActAdminister
	case CorrectDeclaration:
		return ActCorrect
	case DeclareAvailability, SetComment, ClearComment, CloseUnit, ReopenUnit:
		return ActDeclare
	}
	return ""
}

// Decide returns the events cmd produces on state s at instant now, or the
// rule book's refusal (see Admit for the codes). A nil state is a unit that
// does not exist.
func Decide(s *UnitState, cmd Command, now time.Time) ([]Event, error) {
	if s == nil {
		s = &UnitState{}
	}
	now = now.UTC()
	if ActionOf(cmd) == "" {
		return nil, Errorf(EInvalid, "commande inconnue")
	}
	reg, registering := cmd.(RegisterUnit)
	if !registering {
		if err := exists(s, s.unit.ID); err != nil {
			return nil, err
		}
	}
	evs, err := propose(s, cmd, now)
	if err != nil {
		return nil, err
	}
	// The proposed events are judged as an import's would be, each on the
	// state the previous one leaves: one rule book for both.
	st := *s
	stream := UnitStream(s.unit.ID)
	if registering {
		stream = UnitStream(reg.Unit.ID)
	}
	for _, e := range evs {
		env := Envelope{Stream: stream, RecordedAt: now, Event: e}
		if err := admit(&st, &env, true); err != nil {
			return nil, err
		}
		st.Apply(&env)
	}
	return evs, nil
}

// propose turns a command into the events it asks for, leaving out what
// would change nothing. It judges nothing: Admit does.
func propose(s *UnitState, cmd Command, now time.Time) ([]Event, error) {
	switch c := cmd.(type) {
	case RegisterUnit:
		return []Event{UnitRegistered{c.Unit}}, nil
	case ChangeUnitDetails:
		if c.Unit == s.unit {
			return nil, nil
		}
		return []Event{UnitDetailsChanged{c.Unit}}, nil
	case DeclareAvailability:
		evs := []Event{AvailabilityDeclared{Available: c.Available, Installed: c.Installed, ClosedPlaces: c.ClosedPlaces,
			CapacitySource: c.CapacitySource, ClosingType: c.ClosingType}}
		switch {
		case c.Comment == nil, *c.Comment == s.comment:
		case *c.Comment == "":
			evs = append(evs, CommentCleared{})
		default:
			evs = append(evs, CommentSet{Text: *c.Comment})
		}
		return evs, nil
	case CorrectDeclaration:
		return []Event{AvailabilityCorrected(c)}, nil
	case SetComment:
		if c.Text == "" {
			return propose(s, ClearComment{}, now)
		}
		return []Event{CommentSet(c)}, nil
	case ClearComment:
		if s.comment == "" {
			return nil, nil
		}
		return []Event{CommentCleared{}}, nil
	case CloseUnit:
		start := c.Start
		if start.IsZero() {
			start = now
		}
		var end time.Time
		if !c.PlannedEnd.IsZero() {
			end = c.PlannedEnd.UTC()
		}
		return []Event{UnitClosed{Reason: c.Reason, Start: start.UTC(), PlannedEnd: end, Reopenable: c.Reopenable}}, nil
	case ReopenUnit:
		return []Event{UnitReopened{}}, nil
	case CancelClosure:
		return []Event{ClosureCancelled(c)}, nil
	case RetireUnit:
		// A retired unit shares nothing: it leaves its pool first, so the
		// pool's history says so.
		if s.pool != "" {
			return []Event{UnitUnpooled{}, UnitRetired(c)}, nil
		}
		return []Event{UnitRetired(c)}, nil
	case PoolUnit:
		return []Event{UnitPooled(c)}, nil
	case UnpoolUnit:
		return []Event{UnitUnpooled{}}, nil
	}
	return nil, Errorf(EInvalid, "commande inconnue")
}
