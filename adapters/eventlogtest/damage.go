package eventlogtest

import (
	"bytes"
	"os"
	"testing"
)

// FlipEvery damages the record carrying marker in the log file at path:
// it flips a bit of every copy of marker, since copy-on-write leaves stale
// copies of pages behind and one intact copy could still be read.
func FlipEvery(t testing.TB, path, marker string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := []byte(marker)
	if !bytes.Contains(data, m) {
		t.Fatalf("%q not in %s", marker, path)
	}
	for i := bytes.Index(data, m); i >= 0; {
		data[i] ^= 0x20
		j := bytes.Index(data[i+1:], m)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
