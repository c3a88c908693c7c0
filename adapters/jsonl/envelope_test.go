package jsonl_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"dispo/adapters/jsonl"
	"dispo/domain"
)

func TestRoundTripEveryEventType(t *testing.T) {
	seen := map[string]bool{}
	for _, env := range samples() {
		t.Run(env.Type(), func(t *testing.T) {
			line, err := jsonl.Marshal(&env)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("Marshal wrote a line end: %s", line)
			}
			got, err := jsonl.Unmarshal(line)
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", line, err)
			}
			if !sameEnvelope(got, env) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, env)
			}
			if got.RecordedAt.Location() != time.UTC {
				t.Errorf("recorded-at location = %v, want UTC", got.RecordedAt.Location())
			}
			again, err := jsonl.Marshal(&got)
			if err != nil {
				t.Fatalf("Marshal again: %v", err)
			}
			if !bytes.Equal(again, line) {
				t.Fatalf("Marshal is not stable:\ngot  %s\nwant %s", again, line)
			}
		})
		seen[env.Type()] = true
	}
	for _, typ := range domain.EventTypes() {
		if !seen[typ] {
			t.Errorf("no sample of %s", typ)
		}
	}
}

func TestMarshalWireShape(t *testing.T) {
	s := samples()
	line, err := jsonl.Marshal(&s[2])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03","stream":"unit-77-EG-02","type":"availability.declared",` +
		`"schema_version":1,"position":42,"revision":2,"recorded_at":"2024-08-09T10:47:00.123456789Z",` +
		`"actor":{"user_id":"resp-770110054-1","role":"responsable","establishment":"770110054"},` +
		`"source":"manual","correlation_id":"f0e1d2c3","data":{"available":1,"installed":18,"closed":2}}`
	if string(line) != want {
		t.Fatalf("got  %s\nwant %s", line, want)
	}

	// Empty optional fields are left out, a whole second has no fraction.
	line, err = jsonl.Marshal(&s[8])
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{`"actor"`, `"correlation_id"`} {
		if bytes.Contains(line, []byte(absent)) {
			t.Errorf("%s written for an empty value: %s", absent, line)
		}
	}
	line, _ = jsonl.Marshal(&s[0])
	if !bytes.Contains(line, []byte(`"recorded_at":"2024-08-01T07:00:00Z"`)) {
		t.Errorf("whole second not written as such: %s", line)
	}
	if bytes.Contains(line, []byte(`"establishment":""`)) || bytes.Contains(line, []byte(`"actor":{"user_id":"admin-ars-idf","role":"admin"}`)) == false {
		t.Errorf("actor with an empty establishment: %s", line)
	}

	// Closure times are written in UTC whatever their location.
	line, _ = jsonl.Marshal(&s[5])
	if !bytes.Contains(line, []byte(`"start":"2024-10-27T01:30:00Z","planned_end":"2024-11-03T17:00:00Z"`)) {
		t.Errorf("closure times not in UTC: %s", line)
	}
}

func TestMarshalDefaultsSchemaVersion(t *testing.T) {
	env := samples()[2]
	env.SchemaVersion = 0
	line, err := jsonl.Marshal(&env)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(line, []byte(`"schema_version":1,`)) {
		t.Fatalf("schema version not written: %s", line)
	}
}

func TestMarshalRefusesInvalidEnvelope(t *testing.T) {
	for name, mutate := range map[string]func(*domain.Envelope){
		"zero id":        func(e *domain.Envelope) { e.ID = domain.EventID{} },
		"no event":       func(e *domain.Envelope) { e.Event = nil },
		"no time":        func(e *domain.Envelope) { e.RecordedAt = time.Time{}.In(time.UTC) },
		"bad counts":     func(e *domain.Envelope) { e.Event = domain.AvailabilityDeclared{Available: 5, Installed: 4} },
		"year 10000":     func(e *domain.Envelope) { e.RecordedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"unknown source": func(e *domain.Envelope) { e.Source = "fax" },
	} {
		env := samples()[2]
		mutate(&env)
		if _, err := jsonl.Marshal(&env); domain.ErrorCode(err) != domain.EInvalid {
			t.Errorf("%s: Marshal error = %v, want an invalid error", name, err)
		}
	}
	if _, err := jsonl.Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
}

// goodLine is a valid declaration line the bad inputs below are made from.
const goodLine = `{"id":"3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03","stream":"unit-77-EG-02","type":"availability.declared",` +
	`"schema_version":1,"position":42,"revision":2,"recorded_at":"2024-08-09T12:47:00.123456789+02:00",` +
	`"actor":{"user_id":"resp-770110054-1","role":"responsable","establishment":"770110054"},` +
	`"source":"manual","correlation_id":"f0e1d2c3","data":{"available":1,"installed":18,"closed":2}}`

func TestUnmarshalGood(t *testing.T) {
	env, err := jsonl.Unmarshal([]byte(goodLine))
	if err != nil {
		t.Fatal(err)
	}
	want := samples()[2]
	if !sameEnvelope(env, want) {
		t.Fatalf("got  %+v\nwant %+v", env, want)
	}
	if got := env.RecordedAt.Format(time.RFC3339Nano); got != "2024-08-09T10:47:00.123456789Z" {
		t.Errorf("recorded_at = %s, want it converted to UTC", got)
	}

	// Position and revision may be left out; spaces and upper-case hex are fine.
	line := strings.NewReplacer(`"position":42,"revision":2,`, "", `,"data":`, ` , "data" :  `, "3f1c0a52", "3F1C0A52").Replace(goodLine)
	env, err = jsonl.Unmarshal([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if env.Position != 0 || env.Revision != 0 {
		t.Errorf("position, revision = %d, %d; want 0, 0", env.Position, env.Revision)
	}
}

// Keys are found whatever the blanks and whatever the strings hold.
func TestUnmarshalTrickyText(t *testing.T) {
	line := "\t{ \"id\" :\"3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03\", \"stream\":\"unit-77-EG-02\",\"type\":\"comment.set\"," +
		"\"schema_version\":1 ,\"position\":7,\"revision\" : 2,\"recorded_at\":\"2024-08-09T10:47:00Z\"," +
		"\"actor\":{ },\"source\":\"manual\",\"data\": {\"text\" : \"a \\\"}{\\\", \\\"id\\\": [b] \\\\\"} } \r"
	env, err := jsonl.Unmarshal([]byte(line))
	if err != nil {
		t.Fatalf("Unmarshal(%s): %v", line, err)
	}
	if got, want := env.Event, (domain.CommentSet{Text: `a "}{", "id": [b] \`}); got != want {
		t.Fatalf("event = %#v, want %#v", got, want)
	}
	if env.Position != 7 || env.Revision != 2 || env.Actor != (domain.Actor{}) {
		t.Fatalf("envelope = %+v", env)
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(goodLine, old) {
			panic("test line has no " + old)
		}
		return strings.Replace(goodLine, old, new, 1)
	}
	// withEvent makes goodLine carry an event of type typ with payload data.
	withEvent := func(typ, data string) string {
		return strings.Replace(replace(`"type":"availability.declared"`, `"type":"`+typ+`"`),
			`{"available":1,"installed":18,"closed":2}`, data, 1)
	}
	tests := []struct {
		name, line, want string
	}{
		{"empty line", ``, "line ends before the envelope"},
		{"not an object", `[1,2]`, "must be a JSON object"},
		{"null", `null`, "must be a JSON object"},
		{"malformed JSON", goodLine[:len(goodLine)-1], "line ends before the envelope"},
		{"missing comma", replace(`,"stream"`, ` "stream"`), "malformed JSON at byte 46"},
		{"trailing garbage", goodLine + ` x`, "trailing data after the envelope"},
		{"two objects", goodLine + goodLine, "trailing data after the envelope"},
		{"unknown key", replace(`"source"`, `"sauce":1,"source"`), `unknown key "sauce"`},
		{"key in another case", replace(`"stream"`, `"Stream"`), `unknown key "Stream"`},
		{"repeated key", replace(`"source"`, `"stream":"unit-x","source"`), `key "stream" appears twice`},
		{"key written with escapes", replace(`"stream"`, `"str\u0065am"`), `key "str\\u0065am" in the line is written with escapes`},
		{"actor not an object", replace(`{"user_id":"resp-770110054-1","role":"responsable","establishment":"770110054"}`, `"resp"`), "actor must be an object, not string"},
		{"unknown actor key", replace(`"role"`, `"name":"Jo","role"`), `unknown key "name" in actor`},
		{"missing id", replace(`"id":"3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03",`, ``), "id is missing"},
		{"missing data", replace(`,"data":{"available":1,"installed":18,"closed":2}`, ``), "data is missing"},
		{"missing schema version", replace(`"schema_version":1,`, ``), "schema_version is missing"},
		{"unknown type", replace(`"availability.declared"`, `"availability.guessed"`), `unknown event type "availability.guessed"`},
		{"unknown schema version", replace(`"schema_version":1`, `"schema_version":2`), "schema_version 2 is not supported for availability.declared"},
		{"bad uuid", replace(`3f1c0a52-9a4e`, `3f1c0a52-9a4x`), "is not a UUID"},
		{"uuid without hyphens", replace(`3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03`, `3f1c0a529a4e4b8e8d0b5b1f2a6c7d03`), "is not a UUID"},
		{"zero uuid", replace(`3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03`, `00000000-0000-0000-0000-000000000000`), "nil UUID"},
		{"id not a string", replace(`"3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03"`, `42`), "id must be a string, not number"},
		{"bad time", replace(`2024-08-09T12:47:00.123456789+02:00`, `09/08/2024 12:47`), "is not an RFC 3339 time"},
		{"time without zone", replace(`12:47:00.123456789+02:00`, `12:47:00`), "is not an RFC 3339 time"},
		{"negative position", replace(`"position":42`, `"position":-1`), "position must be a whole number >= 0"},
		{"fractional revision", replace(`"revision":2`, `"revision":2.5`), "revision must be a whole number >= 0"},
		{"unknown source", replace(`"manual"`, `"fax"`), `unknown source "fax"`},
		{"unknown role", replace(`"responsable"`, `"chef"`), `unknown role "chef"`},
		{"bad stream", replace(`"unit-77-EG-02"`, `"unit 77"`), "invalid stream name"},
		{"invalid UTF-8 in a string", replace(`f0e1d2c3`, "f0\xc3\x28"), "invalid UTF-8 at byte"},
		{"control character in a comment", withEvent("comment.set", `{"text":"1 place\u0007 le 11/03"}`),
			"data: le commentaire doit être du texte UTF-8 sans caractère de contrôle"},
		{"lone surrogate escape", withEvent("comment.set", `{"text":"1 place \ud83d le 11/03"}`), `escape \ud83d at byte 347 is half a UTF-16 surrogate pair`},
		{"lone low surrogate escape", withEvent("comment.set", `{"text":"\\\udc00"}`), `escape \udc00 at byte 341 is half`},
		{"payload key in another case", replace(`"available":1`, `"Available":1`), `data: unknown key "Available"`},
		{"repeated payload key", replace(`"closed":2`, `"closed":2,"available":0`), `key "available" appears twice in data`},
		{"raw control character", replace(`f0e1d2c3`, "f0\x01"), "invalid character"},
		{"available above installed - closed", replace(`"available":1`, `"available":17`), "data: les places disponibles (17) dépassent les places installées moins les fermées (16)"},
		{"closed above installed", replace(`"closed":2`, `"closed":19`), "les places fermées (19) dépassent les places installées (18)"},
		{"negative count", replace(`"available":1`, `"available":-1`), "doivent être un nombre entier positif ou nul"},
		{"unknown payload key", replace(`"closed":2`, `"closed":2,"free":3`), `data: event availability.declared: json: unknown field "free"`},
		{"payload not an object", replace(`{"available":1,"installed":18,"closed":2}`, `[1]`), "data must be a JSON object"},
		{"null payload", replace(`{"available":1,"installed":18,"closed":2}`, `null`), "data is missing"},
		{"closure end before start", withEvent("unit.closed", `{"reason":"Travaux","start":"2024-09-01T08:00:00Z","planned_end":"2024-08-01T08:00:00Z","reopenable":true}`),
			"la fin prévue doit suivre le début"},
		{"hash too short", replace(`,"data":`, `,"hash":"abcd","data":`), "hash must be 64 lower-case hexadecimal digits"},
		{"hash in upper case", replace(`,"data":`, `,"hash":"`+strings.Repeat("AB", 32)+`","data":`), "hash must be 64 lower-case hexadecimal digits"},
		{"prev_hash not hex", replace(`,"data":`, `,"prev_hash":"`+strings.Repeat("zz", 32)+`","data":`), "prev_hash must be 64 lower-case hexadecimal digits"},
		{"hash not a string", replace(`,"data":`, `,"hash":42,"data":`), "hash must be a string, not number"},
		{"closure time out of range", withEvent("unit.closed", `{"reason":"Travaux","start":"0000-01-01T00:30:00+01:00","reopenable":true}`),
			"doit être entre les années 0000 et 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := jsonl.Unmarshal([]byte(tt.line))
			if err == nil {
				t.Fatalf("Unmarshal succeeded: %+v", env)
			}
			if domain.ErrorCode(err) != domain.EInvalid {
				t.Errorf("error code = %q, want %q (%v)", domain.ErrorCode(err), domain.EInvalid, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(domain.ErrorMessage(err), "jsonl: ") {
				t.Errorf("error = %q, want it to contain %q and start with jsonl:", err, tt.want)
			}
		})
	}
}

// The format's keys are exactly those of the package documentation.
func TestMarshalKeys(t *testing.T) {
	s := samples()
	line, err := jsonl.Marshal(&s[2])
	if err != nil {
		t.Fatal(err)
	}
	// An event not chained has no hashes.
	want := []string{"id", "stream", "type", "schema_version", "position", "revision", "recorded_at", "actor", "source", "correlation_id", "data"}
	keysAre(t, line, want)
	// A chained event has its hashes, after correlation_id, before data.
	line, err = jsonl.Marshal(&s[len(s)-1])
	if err != nil {
		t.Fatal(err)
	}
	keysAre(t, line, []string{"id", "stream", "type", "schema_version", "position", "revision", "recorded_at", "actor", "source",
		"correlation_id", "hash", "prev_hash", "data"})
	h, p := s[len(s)-1].Hash.String(), s[len(s)-1].PrevHash.String()
	if !bytes.Contains(line, []byte(`"correlation_id":"seal-2024-08-10","hash":"`+h+`","prev_hash":"`+p+`","data":{"heads":[`)) {
		t.Errorf("hashes not written in place: %s", line)
	}
}

// keysAre checks that line has exactly the keys want, in that order.
func keysAre(t *testing.T, line []byte, want []string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	var got []string
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v: %s", got, want, line)
	}
}
