package domain_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"dispo/domain"
)

// FuzzDecodeEvent: DecodeEvent never panics, refuses only with EInvalid, and
// what it accepts is one JSON object in valid UTF-8 (encoding/json alone would
// take null, "{}}" and invalid UTF-8), is valid, and survives EncodeEvent then
// DecodeEvent unchanged (times compared in UTC), also once put in UTC.
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range sampleEvents() {
		data, err := domain.EncodeEvent(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(e.EventType(), 1, data)
	}
	f.Add("unit.closed", 1, []byte(`{"reason":"r","start":"2025-03-11T11:00:00+01:00","planned_end":"0001-01-01T01:00:00+01:00","reopenable":true}`))
	f.Add("availability.declared", 1, []byte(`{"available":1e2,"installed":1.5,"closed":"1"}`))
	f.Add("comment.set", 1, []byte("{\"text\":\"\\ud800\xff\"}"))
	f.Add("comment.cleared", 1, []byte(`{}}`))
	f.Add("unit.reopened", 1, []byte(`null`))
	f.Add("unit.pooled", 2, []byte(`{"pool":"P1"}`))
	f.Add("unit.closed", 1, []byte(`{"reason":"r","start":"9999-12-31T23:00:00Z","reopenable":false}`))
	f.Fuzz(func(t *testing.T, typ string, version int, data []byte) {
		e, err := domain.DecodeEvent(typ, version, data)
		if err != nil {
			if e != nil {
				t.Fatalf("DecodeEvent returned %#v with error %v", e, err)
			}
			if code := domain.ErrorCode(err); code != domain.EInvalid {
				t.Fatalf("DecodeEvent error %v: code %q, want %q", err, code, domain.EInvalid)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted invalid UTF-8 %q as %#v", data, e)
		}
		if !json.Valid(data) || bytes.TrimLeft(data, " \t\r\n")[0] != '{' {
			t.Fatalf("accepted %q, not one JSON object, as %#v", data, e)
		}
		if e.EventType() != typ {
			t.Fatalf("decoded a %s as type %s", e.EventType(), typ)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("decoded event %#v does not validate: %v", e, err)
		}
		// As written, and in UTC as Decide and the logs write times.
		for _, e := range []domain.Event{e, normalize(e)} {
			enc, err := domain.EncodeEvent(e)
			if err != nil {
				t.Fatalf("EncodeEvent(%#v): %v", e, err)
			}
			back, err := domain.DecodeEvent(typ, version, enc)
			if err != nil {
				t.Fatalf("DecodeEvent(%s) of the encoding of %#v: %v", enc, e, err)
			}
			if !reflect.DeepEqual(normalize(back), normalize(e)) {
				t.Fatalf("round trip through %s:\n got %#v\nwant %#v", enc, back, e)
			}
		}
	})
}
