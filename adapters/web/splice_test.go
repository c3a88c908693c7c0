package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// Pieces compressed apart and spliced must read back, through the standard
// gzip reader (which checks the CRC and the length), as their concatenation.
func TestSplicedGzipReadsBackWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	repeated := []byte(strings.Repeat("<tr><td>EG</td><td>0 / 20</td></tr>\n", 3000))
	for _, tc := range []struct {
		name             string
		head, main, tail []byte
	}{
		{"empty", nil, nil, nil},
		{"text", []byte("<html><body>"), repeated, []byte("</body></html>")},
		{"main repeats the head", repeated[:5000], repeated, repeated[:70]},
		{"random", random(100), random(70000), random(3)},
		{"empty main", []byte("head"), nil, []byte("tail")},
	} {
		body := gzipJoin(deflate(tc.head, false), deflate(tc.main, false), deflate(tc.tail, true))
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := append(append(append([]byte{}, tc.head...), tc.main...), tc.tail...)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: read back %d bytes, want %d", tc.name, len(got), len(want))
		}
	}
}
