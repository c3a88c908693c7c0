package jsonl

import "testing"

func TestLoneSurrogate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{`{"a":"plain"}`, -1},
		{`{"a":"\ud83d\ude00"}`, -1}, // a pair: 😀
		{`{"a":"\ud83d"}`, 6},
		{`{"a":"\ud83dx\ude00"}`, 6},
		{`{"a":"\ude00"}`, 6},
		{`{"a":"\\ud83d"}`, -1}, // an escaped backslash, then text
		{`{"a":"\"\ud83d"}`, 8},
		{`{"a":"\u00e9","b":"\uD83D"}`, 19},
		{`{"a":"\ud83d\u0041"}`, 6},
		{`{"a":"\ud83d\ud83d\ude00"}`, 6},
		{`{"a":"\u12"}`, -1}, // malformed, left to the decoder
		{`\ud83d`, -1},       // not in a string
	} {
		if got := loneSurrogate([]byte(tt.in)); got != tt.want {
			t.Errorf("loneSurrogate(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
