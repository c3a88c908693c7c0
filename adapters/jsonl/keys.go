package jsonl

import (
	"bytes"
	"slices"
)

// Keys of the format, exactly as written.
var (
	envelopeKeys = []string{"id", "stream", "type", "schema_version", "position", "revision",
		"recorded_at", "actor", "source", "correlation_id", "hash", "prev_hash", "data"}
	actorKeys = []string{"user_id", "role", "establishment"}
)

// checkKeys checks the keys of line, valid JSON: the line is an object, its
// keys and those of actor are the format's, spelled exactly, each once; the
// keys of data are lower-case snake_case, each once. domain.DecodeEvent
// refuses unknown payload keys but, being encoding/json, would take
// "Available" for "available": payload keys are lower-case snake_case, so a
// key of [a-z0-9_] it accepts is exactly one of them. A key written with
// escapes is refused: writers never escape keys.
func checkKeys(line []byte) error {
	s := keyScanner{p: line}
	s.space()
	if !s.at('{') {
		return invalid("the line must be a JSON object")
	}
	return s.object("the line", func(key string) error {
		if !slices.Contains(envelopeKeys, key) {
			return invalid("unknown key %q", key)
		}
		switch {
		case key == "actor" && s.at('{'):
			return s.object("actor", func(k string) error {
				if !slices.Contains(actorKeys, k) {
					return invalid("unknown key %q in actor", k)
				}
				s.skip()
				return nil
			})
		case key == "data" && s.at('{'):
			return s.object("data", func(k string) error {
				for i := 0; i < len(k); i++ {
					if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
						return invalid("data: unknown key %q", k)
					}
				}
				s.skip()
				return nil
			})
		}
		s.skip() // values of the wrong kind are refused by the decoding
		return nil
	})
}

// keyScanner walks JSON text already known to be valid: it need not check
// the syntax, only find its way.
type keyScanner struct {
	p []byte
	i int
}

func (s *keyScanner) at(c byte) bool { return s.i < len(s.p) && s.p[s.i] == c }

func (s *keyScanner) space() {
	for s.i < len(s.p) && bytes.IndexByte([]byte(" \t\r\n"), s.p[s.i]) >= 0 {
		s.i++
	}
}

// object walks the object at s.i, calling value with s.i on the value of
// each key, which value must skip. what names the object in errors.
func (s *keyScanner) object(what string, value func(key string) error) error {
	var seen []string
	s.i++ // {
	for {
		s.space()
		if s.at('}') {
			s.i++
			s.space()
			return nil
		}
		if s.at(',') {
			s.i++
			s.space()
		}
		raw := s.str()
		key := string(raw)
		if bytes.IndexByte(raw, '\\') >= 0 {
			return invalid("key %q in %s is written with escapes", key, what)
		}
		if slices.Contains(seen, key) {
			return invalid("key %q appears twice in %s", key, what)
		}
		seen = append(seen, key)
		s.space()
		s.i++ // :
		s.space()
		if err := value(key); err != nil {
			return err
		}
	}
}

// str returns the raw text of the string at s.i and moves past it.
func (s *keyScanner) str() []byte {
	s.i++ // "
	start := s.i
	for s.p[s.i] != '"' {
		if s.p[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	s.i++
	return s.p[start : s.i-1]
}

// skip moves past the value at s.i and the blanks after it.
func (s *keyScanner) skip() {
	depth := 0
	for s.i < len(s.p) {
		switch s.p[s.i] {
		case '"':
			s.str()
			if depth == 0 {
				s.space()
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the end of the enclosing object, after a number or a literal
				return
			}
			depth--
			if depth == 0 {
				s.i++
				s.space()
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		case ' ', '\t', '\r', '\n':
			if depth == 0 {
				s.space()
				return
			}
		}
		s.i++
	}
}
