package jsonl

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"dispo/domain"
)

// Unmarshal decodes one line of the format (without its line end) into an
// envelope. It is strict (see the package documentation): every refusal is a
// *domain.Error with code domain.EInvalid naming the problem.
//
// Position and Revision are those written in the line, 0 when absent.
func Unmarshal(line []byte) (domain.Envelope, error) {
	if !utf8.Valid(line) {
		return domain.Envelope{}, invalid("invalid UTF-8 at byte %d", invalidUTF8At(line))
	}
	if at := loneSurrogate(line); at >= 0 {
		return domain.Envelope{}, invalid("escape %s at byte %d is half a UTF-16 surrogate pair, not a character", line[at:at+6], at)
	}
	var w wireEnvelope
	dec := json.NewDecoder(bytes.NewReader(line))
	// Keys are decoded one by one rather than through struct tags: encoding/json
	// matches tags case-insensitively and lets a repeated key win silently,
	// which a strict interchange format must not.
	err := decodeObject(dec, "the line", false, func(key string) error {
		switch key {
		case "id":
			return decodeValue(dec, key, "a string", &w.ID)
		case "stream":
			return decodeValue(dec, key, "a string", &w.Stream)
		case "type":
			return decodeValue(dec, key, "a string", &w.Type)
		case "schema_version":
			return decodeValue(dec, key, "a whole number", &w.SchemaVersion)
		case "position":
			return decodeValue(dec, key, "a whole number >= 0", &w.Position)
		case "revision":
			return decodeValue(dec, key, "a whole number >= 0", &w.Revision)
		case "recorded_at":
			return decodeValue(dec, key, "an RFC 3339 time string", &w.RecordedAt)
		case "actor":
			return decodeActor(dec, &w.Actor)
		case "source":
			return decodeValue(dec, key, "a string", &w.Source)
		case "correlation_id":
			return decodeValue(dec, key, "a string", &w.CorrelationID)
		case "data":
			return decodeValue(dec, key, "an object", &w.Data)
		}
		return invalid("unknown key %q", key)
	})
	if err != nil {
		return domain.Envelope{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.Envelope{}, invalid("trailing data after the envelope at byte %d", dec.InputOffset())
	}
	return w.envelope()
}

// envelope checks the decoded keys and builds the envelope they describe.
func (w *wireEnvelope) envelope() (domain.Envelope, error) {
	for _, req := range []struct {
		key     string
		missing bool
	}{
		{"id", w.ID == ""},
		{"stream", w.Stream == ""},
		{"type", w.Type == ""},
		{"schema_version", w.SchemaVersion == 0},
		{"recorded_at", w.RecordedAt == ""},
		{"source", w.Source == ""},
		{"data", len(w.Data) == 0 || string(w.Data) == "null"},
	} {
		if req.missing {
			return domain.Envelope{}, invalid("%s is missing", req.key)
		}
	}

	// uuid.Parse also takes the urn:uuid:, braced and hyphen-less forms; the
	// format has one form so that ids compare as text too.
	id, err := uuid.Parse(w.ID)
	if err != nil || len(w.ID) != 36 {
		return domain.Envelope{}, invalid("id %q is not a UUID in its 36-character form", w.ID)
	}
	if id == uuid.Nil {
		return domain.Envelope{}, invalid("id is the nil UUID")
	}
	at, err := time.Parse(time.RFC3339Nano, w.RecordedAt)
	if err != nil {
		return domain.Envelope{}, invalid("recorded_at %q is not an RFC 3339 time", w.RecordedAt)
	}
	if !inRange(at) {
		return domain.Envelope{}, invalid("recorded_at %q is outside years 0000-9999 in UTC", w.RecordedAt)
	}
	switch v := domain.CurrentSchema(w.Type); {
	case v == 0:
		return domain.Envelope{}, invalid("unknown event type %q", w.Type)
	case v != w.SchemaVersion:
		return domain.Envelope{}, invalid("schema_version %d is not supported for %s (current: %d)", w.SchemaVersion, w.Type, v)
	}
	if err := checkPayloadKeys(w.Data); err != nil {
		return domain.Envelope{}, err
	}
	ev, err := domain.DecodeEvent(w.Type, w.SchemaVersion, w.Data)
	if err != nil {
		return domain.Envelope{}, invalid("data: %s", domain.ErrorMessage(err))
	}
	if ev, err = utcEvent(ev); err != nil {
		return domain.Envelope{}, err
	}
	env := domain.Envelope{
		ID:            domain.EventID(id),
		Stream:        w.Stream,
		SchemaVersion: w.SchemaVersion,
		Position:      w.Position,
		Revision:      w.Revision,
		RecordedAt:    at.UTC(),
		Actor: domain.Actor{
			UserID:        w.Actor.UserID,
			Role:          domain.Role(w.Actor.Role),
			Establishment: w.Actor.Establishment,
		},
		Source:        domain.Source(w.Source),
		CorrelationID: w.CorrelationID,
		Event:         ev,
	}
	if err := env.Validate(); err != nil {
		return domain.Envelope{}, invalid("%s", domain.ErrorMessage(err))
	}
	return env, nil
}

// checkPayloadKeys checks that data is an object whose keys are unique and
// exact. domain.DecodeEvent refuses unknown keys but, being encoding/json,
// takes "Available" for "available" and lets a repeated key win. Payload keys
// are flat lower-case snake_case, so a key of [a-z0-9_] that DecodeEvent
// accepts is exactly a payload key.
func checkPayloadKeys(data json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	return decodeObject(dec, "data", false, func(key string) error {
		for i := 0; i < len(key); i++ {
			if c := key[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return invalid("data: unknown key %q", key)
			}
		}
		var skip json.RawMessage
		return decodeValue(dec, "data."+key, "a JSON value", &skip)
	})
}

func decodeActor(dec *json.Decoder, a *wireActor) error {
	return decodeObject(dec, "actor", true, func(key string) error {
		switch key {
		case "user_id":
			return decodeValue(dec, "actor.user_id", "a string", &a.UserID)
		case "role":
			return decodeValue(dec, "actor.role", "a string", &a.Role)
		case "establishment":
			return decodeValue(dec, "actor.establishment", "a string", &a.Establishment)
		}
		return invalid("unknown key %q in actor", key)
	})
}

// decodeObject reads a JSON object from dec, calling field for each key with
// dec positioned on its value; field must consume the value. Keys must be
// unique. If nullable, a null stands for an absent object.
func decodeObject(dec *json.Decoder, what string, nullable bool, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed(dec, err)
	}
	if tok == nil && nullable {
		return nil
	}
	if tok != json.Delim('{') {
		return invalid("%s must be a JSON object", what)
	}
	var seen []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(dec, err)
		}
		key, ok := tok.(string)
		if !ok { // the decoder only hands out string keys; be safe anyway
			return invalid("%s: expected a key at byte %d", what, dec.InputOffset())
		}
		if slices.Contains(seen, key) {
			return invalid("key %q appears twice in %s", key, what)
		}
		seen = append(seen, key)
		if err := field(key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return malformed(dec, err)
	}
	return nil
}

// decodeValue decodes the value of key into v, saying what was expected if
// the value is of the wrong kind.
func decodeValue(dec *json.Decoder, key, want string, v any) error {
	err := dec.Decode(v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return invalid("%s must be %s, not %s", key, want, te.Value)
	}
	return malformed(dec, err)
}

// malformed describes a JSON syntax error.
func malformed(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return invalid("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("malformed JSON: the line ends before the envelope does")
	}
	return invalid("malformed JSON at byte %d: %v", dec.InputOffset(), err)
}

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.EInvalid, "jsonl: "+format, args...)
}

// invalidUTF8At returns the offset of the first byte of p that is not part of
// valid UTF-8.
func invalidUTF8At(p []byte) int {
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(p)
}

// loneSurrogate returns the offset of the first \u escape in a string of the
// JSON text p that encodes half of a UTF-16 surrogate pair without the other
// half, -1 if there is none. encoding/json would silently decode it as
// U+FFFD, changing the text.
func loneSurrogate(p []byte) int {
	inString := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(p) && p[i+1] == 'u':
			r, ok := hex4(p[i+2:])
			switch {
			case !ok: // malformed: the decoder says so
			case r >= 0xd800 && r < 0xdc00:
				if i+12 > len(p) || p[i+6] != '\\' || p[i+7] != 'u' {
					return i
				}
				if lo, ok := hex4(p[i+8:]); !ok || lo < 0xdc00 || lo > 0xdfff {
					return i
				}
				i += 6 // the low half
			case r >= 0xdc00 && r <= 0xdfff:
				return i
			}
			i += 5
		case c == '\\':
			i++ // the escaped character, which may be a quote
		}
	}
	return -1
}

// hex4 decodes the four hexadecimal digits p starts with.
func hex4(p []byte) (rune, bool) {
	if len(p) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
