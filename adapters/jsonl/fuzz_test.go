package jsonl_test

import (
	"bytes"
	"testing"

	"dispo/adapters/jsonl"
)

// FuzzUnmarshal checks that Unmarshal never panics and that whatever it
// accepts survives a round trip: Marshal then Unmarshal gives the same
// envelope, and Marshal of that gives the same bytes again.
func FuzzUnmarshal(f *testing.F) {
	for _, env := range samples() {
		line, err := jsonl.Marshal(&env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(line)
	}
	f.Add([]byte(goodLine))
	f.Add([]byte(`{"id":"3f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d03","actor":null}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		env, err := jsonl.Unmarshal(line)
		if err != nil {
			return
		}
		out, err := jsonl.Marshal(&env)
		if err != nil {
			t.Fatalf("Marshal of an accepted envelope: %v\ninput: %q", err, line)
		}
		back, err := jsonl.Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal of Marshal's output: %v\ninput:  %q\noutput: %s", err, line, out)
		}
		if !sameEnvelope(back, env) {
			t.Fatalf("round trip changed the envelope:\ngot  %+v\nwant %+v\ninput: %q", back, env, line)
		}
		again, err := jsonl.Marshal(&back)
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("Marshal is not stable:\ngot  %s\nwant %s", again, out)
		}
	})
}
