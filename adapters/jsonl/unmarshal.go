package jsonl

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
	if !json.Valid(line) {
		return domain.Envelope{}, syntaxError(line)
	}
	if at := loneSurrogate(line); at >= 0 {
		return domain.Envelope{}, invalid("escape %s at byte %d is half a UTF-16 surrogate pair, not a character", line[at:at+6], at)
	}
	// encoding/json matches keys case-insensitively and lets a repeated key
	// win silently, which a strict interchange format must not allow: keys
	// are checked first, on the raw text.
	if err := checkKeys(line); err != nil {
		return domain.Envelope{}, err
	}
	var w wireEnvelope
	if err := json.Unmarshal(line, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return domain.Envelope{}, invalid("%s must be %s, not %s", te.Field, valueKinds[te.Field], te.Value)
		}
		return domain.Envelope{}, invalid("%v", err)
	}
	return w.envelope()
}

// valueKinds describes the value each key takes, for errors.
var valueKinds = map[string]string{
	"id":                  "a string",
	"stream":              "a string",
	"type":                "a string",
	"schema_version":      "a whole number",
	"position":            "a whole number >= 0",
	"revision":            "a whole number >= 0",
	"recorded_at":         "an RFC 3339 time string",
	"actor":               "an object",
	"actor.user_id":       "a string",
	"actor.role":          "a string",
	"actor.establishment": "a string",
	"source":              "a string",
	"correlation_id":      "a string",
	"hash":                "a string",
	"prev_hash":           "a string",
	"data":                "an object",
}

// syntaxError describes why line, which is not valid JSON, is not.
func syntaxError(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return invalid("malformed JSON at byte %d: %v", se.Offset, se)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return invalid("malformed JSON: the line ends before the envelope does")
		}
		return invalid("malformed JSON: %v", err)
	}
	return invalid("trailing data after the envelope at byte %d", dec.InputOffset())
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
	case w.Data[0] != '{':
		return domain.Envelope{}, invalid("data must be a JSON object")
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
	if env.Hash, err = parseHash("hash", w.Hash); err != nil {
		return domain.Envelope{}, err
	}
	if env.PrevHash, err = parseHash("prev_hash", w.PrevHash); err != nil {
		return domain.Envelope{}, err
	}
	if err := env.Validate(); err != nil {
		return domain.Envelope{}, invalid("%s", domain.ErrorMessage(err))
	}
	return env, nil
}

// parseHash reads the hash written under key: 64 lower-case hexadecimal
// digits, the one form writers emit; "" (absent) is the zero hash.
func parseHash(key, s string) (domain.Hash, error) {
	if s == "" {
		return domain.Hash{}, nil
	}
	ok := len(s) == 64
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f'
	}
	if !ok {
		return domain.Hash{}, invalid("%s must be 64 lower-case hexadecimal digits", key)
	}
	return domain.ParseHash(s)
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
