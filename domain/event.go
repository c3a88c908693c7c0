package domain

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is a fact about a unit. Each type is one Go type, named in the log by
// EventType and JSON-encoded at the edges (import, export, EventStoreDB).
type Event interface {
	EventType() string
	Validate() error
}

// Event type names: part of every stored format, do not change.
const (
	TypeUnitRegistered        = "unit.registered"
	TypeUnitDetailsChanged    = "unit.details_changed"
	TypeAvailabilityDeclared  = "availability.declared"
	TypeCommentSet            = "comment.set"
	TypeCommentCleared        = "comment.cleared"
	TypeUnitClosed            = "unit.closed"
	TypeUnitReopened          = "unit.reopened"
	TypeUnitPooled            = "unit.pooled"
	TypeUnitUnpooled          = "unit.unpooled"
	TypeUnitRetired           = "unit.retired"
	TypeClosureCancelled      = "unit.closure_cancelled"
	TypeAvailabilityCorrected = "availability.corrected"
)

// UnitRegistered brings a unit into the directory.
type UnitRegistered struct{ Unit }

// UnitDetailsChanged replaces a unit's details (all of them; the id stays).
type UnitDetailsChanged struct{ Unit }

// AvailabilityDeclared is a "Mise à jour": places available now, installed
// and closed. On a pooled unit, Available is the pool's count. ClosedPlaces
// counts places out of use (lits fermés), not a closure of the unit; its
// stored name "closed" is part of every log and stays.
type AvailabilityDeclared struct {
	Available    int `json:"available"`
	Installed    int `json:"installed"`
	ClosedPlaces int `json:"closed"`
	// CapacitySource is the national code of where the figures come from
	// (TRE_R335 typeSourceCapacite) when a program declared them: the code
	// its account is registered with. "" for a person's declaration
	// (01 Saisie manuelle), as every declaration before it was.
	CapacitySource string `json:"capacity_source,omitempty"`
	// ClosingType is the national code of what the closed places are
	// (TRE_R333 typeFermetureCapacite: 01 réactivable, 02 non réactivable,
	// 03 indéterminé) when the declarer said it; "" when not said.
	ClosingType string `json:"closing_type,omitempty"`
}

// AvailabilityCorrected replaces the figures of the unit's last
// declaration, named by its event id, declared by mistake: the declaration
// stays in the history, the correction beside it, and the unit shows the
// corrected figures with the declaration's date (they say what was true then).
type AvailabilityCorrected struct {
	Corrects     string `json:"corrects"` // event id of the declaration, as a UUID
	Available    int    `json:"available"`
	Installed    int    `json:"installed"`
	ClosedPlaces int    `json:"closed_places"`
	Reason       string `json:"reason"`
}

// UnitRetired takes a unit out of the directory for good (it closed down,
// merged, was registered twice): it leaves every list, matrix and total,
// accepts no change, and its history stays readable.
type UnitRetired struct {
	Reason string `json:"reason"`
}

// ClosureCancelled undoes a closure made by mistake (an admin's act): the
// unit is open again as it was before the closure, its last declaration
// standing with its own date. The closure stays in the history.
type ClosureCancelled struct {
	Reason string `json:"reason"`
}

// CommentSet sets the unit's free-text comment ("1 place le 11/03 à 10h").
type CommentSet struct {
	Text string `json:"text"`
}

// CommentCleared removes the comment.
type CommentCleared struct{}

// UnitClosed puts the unit in "indisponibilité totale, saisie bloquée":
// nothing available, declarations refused until it reopens.
type UnitClosed struct {
	Reason     string    `json:"reason"`
	Start      time.Time `json:"start"`
	PlannedEnd time.Time `json:"planned_end,omitzero"`
	Reopenable bool      `json:"reopenable"`
}

// UnitReopened ends a closure.
type UnitReopened struct{}

// UnitPooled makes the unit share its places with the other units of Pool
// ("lits mutualisés sur plusieurs UO"): their available places are one count.
type UnitPooled struct {
	Pool string `json:"pool"`
}

// UnitUnpooled takes the unit out of its pool.
type UnitUnpooled struct{}

func (UnitRegistered) EventType() string        { return TypeUnitRegistered }
func (UnitDetailsChanged) EventType() string    { return TypeUnitDetailsChanged }
func (AvailabilityDeclared) EventType() string  { return TypeAvailabilityDeclared }
func (CommentSet) EventType() string            { return TypeCommentSet }
func (CommentCleared) EventType() string        { return TypeCommentCleared }
func (UnitClosed) EventType() string            { return TypeUnitClosed }
func (UnitReopened) EventType() string          { return TypeUnitReopened }
func (UnitPooled) EventType() string            { return TypeUnitPooled }
func (UnitUnpooled) EventType() string          { return TypeUnitUnpooled }
func (UnitRetired) EventType() string           { return TypeUnitRetired }
func (ClosureCancelled) EventType() string      { return TypeClosureCancelled }
func (AvailabilityCorrected) EventType() string { return TypeAvailabilityCorrected }

func (e UnitRegistered) Validate() error     { return e.Unit.Validate() }
func (e UnitDetailsChanged) Validate() error { return e.Unit.Validate() }
func (CommentCleared) Validate() error       { return nil }
func (UnitReopened) Validate() error         { return nil }
func (UnitUnpooled) Validate() error         { return nil }

func (e AvailabilityDeclared) Validate() error {
	if e.CapacitySource != "" && !ValidCapacitySource(e.CapacitySource) {
		return FieldErrorf(EInvalid, "capacity_source", "source %q inconnue : 01, 02, 03 ou 04 (typeSourceCapacite)", strings.ToValidUTF8(e.CapacitySource, ""))
	}
	switch e.ClosingType {
	case "", ClosingReopenable, ClosingNotReopenable, ClosingUnknown:
	default:
		return FieldErrorf(EInvalid, "closing_type", "type de fermeture %q inconnu : 01, 02 ou 03 (typeFermetureCapacite)", strings.ToValidUTF8(e.ClosingType, ""))
	}
	return checkCounts(e.Available, e.Installed, e.ClosedPlaces)
}

// Capacity sources (TRE_R335 TypeSourceCapacite), as the national ROR
// codes them.
const (
	CapacitySourceManual        = "01" // Saisie manuelle: a person
	CapacitySourceBedManagement = "02" // Bed management: the default of a program
	CapacitySourceGAM           = "03" // Gestion administrative des malades
	CapacitySourceDPI           = "04" // Dossier patient informatisé
)

// Closing types of closed places (TRE_R333 TypeFermetureCapacite).
const (
	ClosingReopenable    = "01" // Réactivable
	ClosingNotReopenable = "02" // Non réactivable
	ClosingUnknown       = "03" // Indéterminé
)

// ValidCapacitySource reports whether code is one of the national codes.
func ValidCapacitySource(code string) bool {
	switch code {
	case CapacitySourceManual, CapacitySourceBedManagement, CapacitySourceGAM, CapacitySourceDPI:
		return true
	}
	return false
}

// checkCounts is the rule of a declaration's figures (DOMAIN.md): whole
// numbers >= 0, closed <= installed, available <= installed - closed.
func checkCounts(available, installed, closed int) error {
	switch {
	case available < 0:
		return FieldErrorf(EInvalid, "available", "les places disponibles doivent être un nombre entier positif ou nul")
	case installed < 0:
		return FieldErrorf(EInvalid, "installed", "les places installées doivent être un nombre entier positif ou nul")
	case closed < 0:
		return FieldErrorf(EInvalid, "closed_places", "les places fermées doivent être un nombre entier positif ou nul")
	case installed > MaxCount:
		return FieldErrorf(EInvalid, "installed", "plus de %d places installées : nombre refusé", MaxCount)
	case closed > installed:
		return FieldErrorf(EInvalid, "closed_places", "les places fermées (%d) dépassent les places installées (%d)", closed, installed)
	case available > installed-closed:
		return FieldErrorf(EInvalid, "available", "les places disponibles (%d) dépassent les places installées moins les fermées (%d)", available, installed-closed)
	}
	return nil
}

func (e AvailabilityCorrected) Validate() error {
	if _, err := ParseEventID(e.Corrects); err != nil {
		return FieldErrorf(EInvalid, "corrects", "la déclaration corrigée doit être désignée par l'identifiant de son événement (UUID)")
	}
	if err := checkCounts(e.Available, e.Installed, e.ClosedPlaces); err != nil {
		return err
	}
	return checkText("reason", "le motif de la correction", e.Reason, MaxReasonLen, true)
}

func (e UnitRetired) Validate() error {
	return checkText("reason", "le motif du retrait", e.Reason, MaxReasonLen, true)
}

func (e ClosureCancelled) Validate() error {
	return checkText("reason", "le motif de l'annulation", e.Reason, MaxReasonLen, true)
}

func (e CommentSet) Validate() error {
	return checkText("comment", "le commentaire", e.Text, MaxCommentLen, true)
}

func (e UnitClosed) Validate() error {
	if err := checkText("reason", "le motif de l'indisponibilité", e.Reason, MaxReasonLen, true); err != nil {
		return err
	}
	switch {
	case e.Start.IsZero():
		return FieldErrorf(EInvalid, "start", "le début de l'indisponibilité est obligatoire")
	case !encodableTime(e.Start):
		return FieldErrorf(EInvalid, "start", "le début de l'indisponibilité doit être entre les années 0000 et 9999 (UTC)")
	case e.PlannedEnd.IsZero():
		return nil
	case !encodableTime(e.PlannedEnd):
		return FieldErrorf(EInvalid, "planned_end", "la fin prévue doit être entre les années 0000 et 9999 (UTC)")
	case !e.PlannedEnd.After(e.Start):
		return FieldErrorf(EInvalid, "planned_end", "la fin prévue doit suivre le début de l'indisponibilité")
	}
	return nil
}

// encodableTime reports whether t can be written as RFC 3339, both as it is
// and in UTC (the form Decide and the logs write times in): EncodeEvent
// fails on a year outside 0000-9999.
func encodableTime(t time.Time) bool {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return false
	}
	_, err := t.MarshalJSON()
	return err == nil
}

func (e UnitPooled) Validate() error {
	if !ValidUnitID(e.Pool) {
		return FieldErrorf(EInvalid, "pool", "identifiant de pool %q invalide : 1 à 64 caractères parmi A-Z a-z 0-9 . _ -", e.Pool)
	}
	return nil
}

// schemas maps each event type to its current schema version and a
// constructor for decoding. A type's version changes only with an upcaster here.
var schemas = map[string]struct {
	version int
	new     func() Event
}{
	TypeUnitRegistered:        {1, func() Event { return new(UnitRegistered) }},
	TypeUnitDetailsChanged:    {1, func() Event { return new(UnitDetailsChanged) }},
	TypeAvailabilityDeclared:  {1, func() Event { return new(AvailabilityDeclared) }},
	TypeCommentSet:            {1, func() Event { return new(CommentSet) }},
	TypeCommentCleared:        {1, func() Event { return new(CommentCleared) }},
	TypeUnitClosed:            {1, func() Event { return new(UnitClosed) }},
	TypeUnitReopened:          {1, func() Event { return new(UnitReopened) }},
	TypeUnitPooled:            {1, func() Event { return new(UnitPooled) }},
	TypeUnitUnpooled:          {1, func() Event { return new(UnitUnpooled) }},
	TypeLogSealed:             {1, func() Event { return new(LogSealed) }},
	TypeUnitRetired:           {1, func() Event { return new(UnitRetired) }},
	TypeClosureCancelled:      {1, func() Event { return new(ClosureCancelled) }},
	TypeAvailabilityCorrected: {1, func() Event { return new(AvailabilityCorrected) }},
}

// EventTypes lists every known event type name.
func EventTypes() []string {
	return []string{TypeUnitRegistered, TypeUnitDetailsChanged, TypeAvailabilityDeclared, TypeCommentSet,
		TypeCommentCleared, TypeUnitClosed, TypeUnitReopened, TypeUnitPooled, TypeUnitUnpooled, TypeLogSealed,
		TypeUnitRetired, TypeClosureCancelled, TypeAvailabilityCorrected}
}

// CurrentSchema returns the schema version events of type typ are written
// with, 0 for an unknown type.
func CurrentSchema(typ string) int { return schemas[typ].version }

// EncodeEvent returns the JSON payload of e.
func EncodeEvent(e Event) ([]byte, error) { return json.Marshal(e) }

// DecodeEvent decodes the JSON payload of an event of type typ written with
// schema version. Unknown types, versions and fields are refused, as are a
// payload that is not one JSON object (null included) and invalid UTF-8.
func DecodeEvent(typ string, version int, data []byte) (Event, error) {
	s, ok := schemas[typ]
	if !ok {
		return nil, Errorf(EInvalid, "type d'événement %q inconnu", typ)
	}
	if version != s.version {
		return nil, Errorf(EInvalid, "événement %s : version de schéma %d non prise en charge", typ, version)
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and take null
	// for an empty payload: refuse both rather than store what was not sent.
	if !utf8.Valid(data) {
		return nil, Errorf(EInvalid, "event %s: payload is not valid UTF-8", typ)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, Errorf(EInvalid, "event %s: payload must be a JSON object", typ)
	}
	p := s.new()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, Errorf(EInvalid, "event %s: %v", typ, err)
	}
	// Decoder.More reports false before a '}' or ']', so it would let
	// "{...}}" through: only whitespace may follow the payload.
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errorf(EInvalid, "event %s: trailing data after payload", typ)
	}
	e := deref(p)
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// deref turns the decoding target back into the value type the rest of the
// code switches on.
func deref(p Event) Event {
	switch v := p.(type) {
	case *UnitRegistered:
		return *v
	case *UnitDetailsChanged:
		return *v
	case *AvailabilityDeclared:
		return *v
	case *CommentSet:
		return *v
	case *CommentCleared:
		return *v
	case *UnitClosed:
		return *v
	case *UnitReopened:
		return *v
	case *UnitPooled:
		return *v
	case *UnitUnpooled:
		return *v
	case *LogSealed:
		return *v
	case *UnitRetired:
		return *v
	case *ClosureCancelled:
		return *v
	case *AvailabilityCorrected:
		return *v
	}
	return p
}
