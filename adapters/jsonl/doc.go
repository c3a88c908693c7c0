// Package jsonl reads and writes dispo's JSONL event format: one envelope per
// line. It is the documented interchange format of the ledger: exports and
// imports go through it, and the checked-in fixtures of eventlog-fixtures/
// are written in it.
//
// # Lines
//
// A file is UTF-8 text. Each line holds one JSON object, the envelope of one
// event, in log order. Lines end with "\n"; "\r\n" is accepted on reading, as
// is a last line without a line end and a UTF-8 byte order mark at the start
// of the file. Empty lines (or lines of blanks) are skipped. A line may be at
// most MaxLineSize bytes long, line end excluded.
//
// # The envelope
//
// Keys are snake_case and matched exactly (case matters); an unknown or a
// repeated key is refused. Writers emit the keys in this order:
//
//	id              string, required. The event id: a UUID in its 36-character
//	                hyphenated text form ("3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d90");
//	                upper-case hex is accepted, lower case is written. The nil
//	                UUID is refused.
//	stream          string, required. The stream the event belongs to, "unit-"
//	                followed by the unit id for unit streams ("unit-77-EG-01"):
//	                1 to 200 bytes of printable ASCII, no spaces, no leading '$'.
//	type            string, required. The event type: one of domain.EventTypes()
//	                ("availability.declared", "unit.closed"...).
//	schema_version  integer, required. The version of the payload's schema for
//	                that type; today 1 for every type.
//	position        integer >= 0, optional (0 when absent). The event's global
//	                position in the log it was exported from: gapless from 1.
//	revision        integer >= 0, optional (0 when absent). The event's 0-based
//	                index in its stream, in the log it was exported from.
//	recorded_at     string, required. When the log recorded the event: RFC 3339,
//	                written in UTC with as many fractional-second digits as
//	                needed (none for a whole second, up to 9, trailing zeros
//	                dropped: "2024-08-09T10:47:00.123456789Z"). Any offset is
//	                accepted on reading and converted to UTC.
//	actor           object, optional. Who caused the event; its keys, each
//	                optional and omitted when empty:
//	                  user_id        the user's identifier ("resp-770110054-1")
//	                  role           responsable, professionnel, analyst,
//	                                 auditor, admin or system
//	                  establishment  the FINESS of the establishment acted for
//	                The object is omitted when every key is empty.
//	source          string, required. Through which door the event came in:
//	                "manual" (the web form), "api" or "import".
//	correlation_id  string, optional, at most 128 bytes. Ties together the events
//	                of one request (a declaration and the comment sent with it,
//	                the registrations of one import). Omitted when empty.
//	hash            string, optional. The event's hash in its stream's chain
//	                (domain.ChainHash): 64 lower-case hexadecimal digits.
//	                Omitted when the event was not chained.
//	prev_hash       string, optional. The hash of the previous event of the
//	                stream, same form; omitted for a stream's first event (and
//	                for an event not chained).
//	data            object, required. The event's payload, as domain.EncodeEvent
//	                writes it for the type and schema version; see below.
//
// Payloads (schema version 1). Counts are whole numbers of places (dialysis
// counts places: 1 place = 1 patient). Times are RFC 3339 strings; writers
// emit them in UTC and readers convert them to UTC.
//
//	unit.registered, unit.details_changed
//	    {"unit_id","finess","establishment","department","type","name","phone","commune"}
//	    phone and commune omitted when empty; type is a catalog code ("udm", "centre_lourd"...)
//	availability.declared   {"available","installed","closed"}
//	    closed counts closed places: 0 <= closed <= installed,
//	    available <= installed - closed
//	availability.corrected  {"corrects","available","installed","closed_places","reason"}
//	    corrects is the event id of the unit's last declaration
//	unit.closure_cancelled  {"reason"}  a closure made by mistake, undone
//	unit.retired            {"reason"}  the unit left the directory
//	comment.set             {"text"}  at most 500 characters, no control characters
//	    (since 2026-12-02, no invisible or direction-changing character)
//	comment.cleared         {}
//	unit.closed             {"reason","start","planned_end","reopenable"}
//	    planned_end omitted when none was given; after start otherwise
//	unit.reopened           {}
//	unit.pooled             {"pool"}  the pool's id
//	unit.unpooled           {}
//	log.sealed              {"heads":[{"stream","revision","hash"}...]}
//	    in stream "seal": the revision and hash of every stream's newest
//	    event at that point of the log, sorted by stream
//
// An example line (wrapped here; a file holds it on one line):
//
//	{"id":"0b8a3e4c-6f55-4a4e-9b3f-1d2c3b4a5f60","stream":"unit-77-EG-02",
//	 "type":"availability.declared","schema_version":1,"position":12,"revision":3,
//	 "recorded_at":"2024-08-09T10:47:00Z","actor":{"user_id":"resp-770110054-1",
//	 "role":"responsable","establishment":"770110054"},"source":"manual",
//	 "correlation_id":"5e0c2f4d-2a7b-4f1e-8c3d-9a8b7c6d5e4f",
//	 "hash":"9c1e0d5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d",
//	 "prev_hash":"1f2e3d4c5b6a7980f1e2d3c4b5a69788f9e0d1c2b3a4958677869504a3b2c1d0",
//	 "data":{"available":1,"installed":18,"closed":0}}
//
// # Reading is strict
//
// Unmarshal refuses anything a writer of this format would not produce or a
// log would not accept: malformed JSON, invalid UTF-8, unknown, repeated or
// missing keys, a value of the wrong kind, trailing data after the object, an
// unknown type or schema version, a payload that breaks the domain's
// invariants (available > installed - closed, control characters in a
// comment...), and an envelope domain.Envelope.Validate refuses. Every such
// error is a *domain.Error with code domain.EInvalid whose message names the
// problem; Reader wraps it in a *LineError carrying the line number. A null
// value is taken as an absent key.
//
// # Import and positions
//
// position and revision are informative: they say where the event was in the
// log that exported it, and a file written for import may leave them out. A
// log importing a file assigns its own positions and revisions as it appends,
// in file order; an importer may use the exported revisions to check that
// each stream's events come in order. id is what identifies an event across
// logs: an importer can tell by it the events it already holds.
//
// hash and prev_hash chain each event to the previous event of its stream in
// the file, at the revision its order in the stream gives it (see Import): a
// file is chained throughout (an export of a chained log) or not at all (a
// file written for import, which Import chains as it appends).
//
// encoding/json is strict where the format needs it only after these checks;
// a format change (a new key, a new schema version) must keep every line
// written before it readable.
package jsonl
