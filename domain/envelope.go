package domain

import (
	"encoding/hex"
	"strconv"
	"time"
)

// EventID identifies an event everywhere and forever. Adapters produce and
// print it as a UUID (github.com/google/uuid's UUID has the same layout);
// the domain needs only equality.
type EventID [16]byte

// IsZero reports whether id was never set.
func (id EventID) IsZero() bool { return id == EventID{} }

// String writes id as a UUID (8-4-4-4-12 lowercase hexadecimal digits).
// Not a TextMarshaler on purpose: gob and JSON encode ids as bytes in
// stored formats (checkpoints) that must not change.
func (id EventID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	hex.Encode(b[9:13], id[4:6])
	hex.Encode(b[14:18], id[6:8])
	hex.Encode(b[19:23], id[8:10])
	hex.Encode(b[24:], id[10:])
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:])
}

// ParseEventID reads an id written by String (either case).
func ParseEventID(s string) (EventID, error) {
	var id EventID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, Errorf(EInvalid, "identifiant d'événement %q invalide : un UUID est attendu", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, Errorf(EInvalid, "identifiant d'événement %q invalide : un UUID est attendu", s)
	}
	return id, nil
}

// ExpectedRevision is the precondition of an append: AnyRevision, NoStream,
// or the exact revision (0-based index of the last event) the stream must be at.
type ExpectedRevision int64

const (
	AnyRevision ExpectedRevision = -2
	NoStream    ExpectedRevision = -1
)

// NoStreamRevision is the "current revision" of a stream that has no event.
const NoStreamRevision int64 = -1

// Exact returns the expectation that a stream is at revision rev
// (NoStream when rev is NoStreamRevision).
func Exact(rev int64) ExpectedRevision { return ExpectedRevision(rev) }

func (r ExpectedRevision) String() string {
	switch r {
	case AnyRevision:
		return "any"
	case NoStream:
		return "no-stream"
	}
	return strconv.FormatInt(int64(r), 10)
}

// Source says through which door an event came in.
type Source string

const (
	SourceManual Source = "manual"
	SourceAPI    Source = "api"
	SourceImport Source = "import"
)

// ValidSource reports whether s is one of the known sources.
func ValidSource(s Source) bool {
	return s == SourceManual || s == SourceAPI || s == SourceImport
}

// Role is a habilitation profile.
type Role string

const (
	RoleResponsable   Role = "responsable"   // Responsable de disponibilités: declares for its establishments
	RoleProfessionnel Role = "professionnel" // Professionnel de santé: consults
	RoleAnalyst       Role = "analyst"       // agency (ARS): weekly trends
	RoleAuditor       Role = "auditor"       // replays histories
	RoleAdmin         Role = "admin"         // registers units, users, habilitations
	RoleSystem        Role = "system"        // the service itself: imports, generators
)

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool {
	switch r {
	case RoleResponsable, RoleProfessionnel, RoleAnalyst, RoleAuditor, RoleAdmin, RoleSystem:
		return true
	}
	return false
}

// Actor is who caused an event.
type Actor struct {
	UserID        string
	Role          Role
	Establishment string // FINESS of the establishment acted for, if any
}

// Envelope is an event with what the log knows about it. Position and
// Revision are set by the log at append; RecordedAt by the server clock (UTC).
type Envelope struct {
	ID            EventID
	Stream        string
	SchemaVersion int
	Position      uint64 // global, gapless, from 1
	Revision      uint64 // 0-based index in Stream
	RecordedAt    time.Time
	Actor         Actor
	Source        Source
	CorrelationID string
	Event         Event
	// Hash chains the event to its stream (tamper evidence, see chain.go):
	// PrevHash is the Hash of the stream's previous event (zero for the
	// first). Both zero: an event written before chaining, or by a writer
	// that did not chain it; verify reports those.
	Hash, PrevHash Hash
}

// Type is the event's type name, as stored.
func (e *Envelope) Type() string {
	if e.Event == nil {
		return ""
	}
	return e.Event.EventType()
}

// Validate checks what any log requires of an envelope before appending it.
func (e *Envelope) Validate() error {
	switch {
	case e.ID.IsZero():
		return Errorf(EInvalid, "event id is missing")
	case e.Event == nil:
		return Errorf(EInvalid, "event is missing")
	case !ValidStream(e.Stream):
		return Errorf(EInvalid, "invalid stream name %q", e.Stream)
	case e.RecordedAt.IsZero():
		return Errorf(EInvalid, "recorded-at is missing")
	case !ValidSource(e.Source):
		return Errorf(EInvalid, "unknown source %q", e.Source)
	case e.Actor.Role != "" && !ValidRole(e.Actor.Role):
		return Errorf(EInvalid, "unknown role %q", e.Actor.Role)
	case len(e.CorrelationID) > 128 || !ValidText(e.CorrelationID):
		return Errorf(EInvalid, "invalid correlation id")
	case len(e.Actor.UserID) > 128 || !ValidText(e.Actor.UserID) || len(e.Actor.Establishment) > 128 || !ValidText(e.Actor.Establishment):
		return Errorf(EInvalid, "invalid actor")
	}
	if CurrentSchema(e.Event.EventType()) == 0 {
		// No log could decode it back: DecodeEvent knows only the domain's types.
		return Errorf(EInvalid, "unknown event type %q", e.Event.EventType())
	}
	if e.SchemaVersion != 0 && e.SchemaVersion != CurrentSchema(e.Event.EventType()) {
		return Errorf(EInvalid, "event %s: unsupported schema version %d", e.Event.EventType(), e.SchemaVersion)
	}
	return e.Event.Validate()
}

// ValidStream reports whether name can name a stream: 1 to 200 bytes of
// printable ASCII without spaces, not starting with '$' (reserved by EventStoreDB).
func ValidStream(name string) bool {
	if name == "" || len(name) > 200 || name[0] == '$' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' {
			return false
		}
	}
	return true
}

// AppendResult is what a log reports of a successful append.
type AppendResult struct {
	FirstPosition uint64 // position of the first event of the append
	LastPosition  uint64 // position of the last event: a reader caught up to it sees the append
	Revision      int64  // the stream's revision after the append
}
