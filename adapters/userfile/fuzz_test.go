package userfile

import (
	"bytes"
	"testing"
	"time"
)

// FuzzLoad checks that the file decoder never panics and that whatever it
// accepts survives a round trip: encode then decode gives a file that
// encodes to the same bytes.
func FuzzLoad(f *testing.F) {
	hash := CheapParams.hash("correct horse battery")
	at := time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC)
	good, err := encode(map[string]*record{
		"resp": {ID: "resp", Name: "Jeanne", Role: "responsable", Establishments: []string{"770110054", "2A0000001"},
			Password: hash, Tokens: []tokenJSON{{SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", CreatedAt: at}},
			CreatedAt: at, UpdatedAt: at},
		"admin@ars.fr": {ID: "admin@ars.fr", Role: "admin", Establishments: []string{}, Password: hash, Tokens: []tokenJSON{}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"dispo-users","version":1,"users":[]}`))
	f.Add([]byte(`{"format":"dispo-users","version":1,"users":[null]}`))
	f.Add([]byte(`{"format":"dispo-users","version":1,"users":[{"id":"a","role":"auditor","password":"$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA","created_at":"9999-12-31T23:00:00-05:00"}]}`))
	f.Add([]byte(`{"format":"dispo-users","version":1,"users":[{"id":"a","role":"admin","password":"$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"}]}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := decode(data)
		if err != nil {
			return
		}
		out, err := encode(users)
		if err != nil {
			t.Fatalf("encode of an accepted file: %v\ninput: %q", err, data)
		}
		back, err := decode(out)
		if err != nil {
			t.Fatalf("decode of encode's output: %v\ninput:  %q\noutput: %s", err, data, out)
		}
		again, err := encode(back)
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("round trip changed the file:\ngot  %s\nwant %s", again, out)
		}
	})
}
