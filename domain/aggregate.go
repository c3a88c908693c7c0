package domain

import (
	"reflect"
	"time"
)

// Closure is an ongoing "indisponibilité totale".
type Closure struct {
	Reason     string
	Start      time.Time
	PlannedEnd time.Time // zero when none was given
	Reopenable bool
}

// UnitState is a unit folded from its stream. The zero value is a unit that
// does not exist yet (revision NoStreamRevision once Revision is asked).
type UnitState struct {
	registered     bool
	unit           Unit
	decl           AvailabilityDeclared
	lastDeclaredAt time.Time
	comment        string
	closure        *Closure
	pool           string
	events         uint64
	lastHash       Hash
}

func (s *UnitState) Registered() bool               { return s.registered }
func (s *UnitState) Unit() Unit                     { return s.unit }
func (s *UnitState) Declared() AvailabilityDeclared { return s.decl }
func (s *UnitState) LastDeclaredAt() time.Time      { return s.lastDeclaredAt }
func (s *UnitState) Comment() string                { return s.comment }
func (s *UnitState) Pool() string                   { return s.pool }
func (s *UnitState) IsClosed() bool                 { return s.closure != nil }

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

// Available is the unit's own view of its available places: 0 while closed
// (the national ROR rule: a closed service shows 0 available).
func (s *UnitState) Available() int {
	if s.closure != nil {
		return 0
	}
	return s.decl.Available
}

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
		s.decl = e
		s.lastDeclaredAt = env.RecordedAt
	case CommentSet:
		s.comment = e.Text
	case CommentCleared:
		s.comment = ""
	case UnitClosed:
		s.closure = &Closure{Reason: e.Reason, Start: e.Start, PlannedEnd: e.PlannedEnd, Reopenable: e.Reopenable}
		s.decl.Available = 0
	case UnitReopened:
		s.closure = nil
	case UnitPooled:
		s.pool = e.Pool
	case UnitUnpooled:
		s.pool = ""
	}
}

// Command is a request to change a unit. Decide validates it against the
// unit's state and returns the events to append.
type Command interface {
	decide(s *UnitState, now time.Time) ([]Event, error)
}

type (
	RegisterUnit        struct{ Unit Unit }
	ChangeUnitDetails   struct{ Unit Unit }
	DeclareAvailability struct {
		Available, Installed, Closed int
		// Comment, if not nil, is set (or cleared when empty) with the
		// declaration, in the same append: the "Mise à jour" form sends both.
		Comment *string
	}
	SetComment   struct{ Text string }
	ClearComment struct{}
	CloseUnit    struct {
		Reason     string
		Start      time.Time // zero means now
		PlannedEnd time.Time // zero means none
		Reopenable bool
	}
	ReopenUnit struct{}
	PoolUnit   struct{ Pool string }
	UnpoolUnit struct{}
)

// Decide returns the events cmd produces on state s at instant now, or a
// *Error: ENotFound for an unknown unit, EUnitClosed for a declaration on a
// closed unit (saisie bloquée), EConflict for a change that contradicts the
// state, EInvalid for bad values, ECommentInvisible for a comment with
// invisible characters. A nil state is a unit that does not exist.
func Decide(s *UnitState, cmd Command, now time.Time) ([]Event, error) {
	if s == nil {
		s = &UnitState{}
	}
	if cmd == nil {
		return nil, Errorf(EInvalid, "no command")
	}
	// The commands' methods have value receivers, so a pointer to a command
	// is a Command too: decide it as the command it points to (a nil one
	// would panic, and *RegisterUnit would not be seen as a registration).
	if v := reflect.ValueOf(cmd); v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, Errorf(EInvalid, "no command")
		}
		cmd = v.Elem().Interface().(Command)
	}
	if _, ok := cmd.(RegisterUnit); !ok && !s.registered {
		return nil, Errorf(ENotFound, "unit not found")
	}
	evs, err := cmd.decide(s, now.UTC())
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			return nil, err
		}
		if err := admitNew(e); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

func one(e Event) ([]Event, error) { return []Event{e}, nil }

func (c RegisterUnit) decide(s *UnitState, _ time.Time) ([]Event, error) {
	if s.registered {
		return nil, Errorf(EConflict, "unit %s is already registered", s.unit.ID)
	}
	return one(UnitRegistered{c.Unit})
}

func (c ChangeUnitDetails) decide(s *UnitState, _ time.Time) ([]Event, error) {
	if c.Unit.ID != s.unit.ID {
		return nil, Errorf(EInvalid, "a unit's id cannot change")
	}
	if c.Unit == s.unit {
		return nil, nil
	}
	return one(UnitDetailsChanged{c.Unit})
}

func (c DeclareAvailability) decide(s *UnitState, _ time.Time) ([]Event, error) {
	if s.closure != nil {
		return nil, Errorf(EUnitClosed, "unit %s is closed (indisponibilité totale, saisie bloquée) since %s: %s",
			s.unit.ID, s.closure.Start.Format(time.RFC3339), s.closure.Reason)
	}
	evs := []Event{AvailabilityDeclared{Available: c.Available, Installed: c.Installed, Closed: c.Closed}}
	switch {
	case c.Comment == nil, *c.Comment == s.comment:
	case *c.Comment == "":
		evs = append(evs, CommentCleared{})
	default:
		evs = append(evs, CommentSet{Text: *c.Comment})
	}
	return evs, nil
}

func (c SetComment) decide(s *UnitState, _ time.Time) ([]Event, error) {
	if c.Text == "" {
		return ClearComment{}.decide(s, time.Time{})
	}
	return one(CommentSet{Text: c.Text})
}

func (ClearComment) decide(s *UnitState, _ time.Time) ([]Event, error) {
	if s.comment == "" {
		return nil, nil
	}
	return one(CommentCleared{})
}

func (c CloseUnit) decide(s *UnitState, now time.Time) ([]Event, error) {
	if s.closure != nil {
		return nil, Errorf(EConflict, "unit %s is already closed", s.unit.ID)
	}
	start := c.Start
	if start.IsZero() {
		start = now
	}
	var end time.Time
	if !c.PlannedEnd.IsZero() {
		end = c.PlannedEnd.UTC()
	}
	return one(UnitClosed{Reason: c.Reason, Start: start.UTC(), PlannedEnd: end, Reopenable: c.Reopenable})
}

func (ReopenUnit) decide(s *UnitState, _ time.Time) ([]Event, error) {
	switch {
	case s.closure == nil:
		return nil, Errorf(EConflict, "unit %s is not closed", s.unit.ID)
	case !s.closure.Reopenable:
		return nil, Errorf(EConflict, "unit %s was closed as not reopenable", s.unit.ID)
	}
	return one(UnitReopened{})
}

func (c PoolUnit) decide(s *UnitState, _ time.Time) ([]Event, error) {
	if err := (UnitPooled{Pool: c.Pool}).Validate(); err != nil {
		return nil, err // before the comparison: "" is no pool, not a conflict
	}
	if s.pool == c.Pool {
		return nil, Errorf(EConflict, "unit %s is already in pool %s", s.unit.ID, c.Pool)
	}
	return one(UnitPooled{Pool: c.Pool})
}

func (UnpoolUnit) decide(s *UnitState, _ time.Time) ([]Event, error) {
	if s.pool == "" {
		return nil, Errorf(EConflict, "unit %s is in no pool", s.unit.ID)
	}
	return one(UnitUnpooled{})
}
