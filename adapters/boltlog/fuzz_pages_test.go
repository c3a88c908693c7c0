package boltlog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"
)

// FuzzDamagedFile hands arbitrary bytes to everything that opens a log
// file: Check, a read-only open and read, an open for writing. None may
// panic (a panic in bbolt's own goroutines ends the fuzzer, as it would
// end the server) nor hang, and every refusal must be one of the log's
// errors. testdata holds what it found: a branch page made its own child,
// which sent bbolt's cursor round forever at a clean open.
func FuzzDamagedFile(f *testing.F) {
	dir := f.TempDir()
	for i, n := range []int{0, 3, 40} {
		path := filepath.Join(dir, "seed.db")
		os.Remove(path)
		l, err := boltlog.Open(path, boltlog.Options{})
		if err != nil {
			f.Fatal(err)
		}
		if n > 0 {
			if _, err := l.Append(context.Background(), "unit-a", domain.AnyRevision, eventlogtest.Declarations(n)); err != nil {
				f.Fatal(err)
			}
		}
		if i == 1 {
			b, _ := os.ReadFile(path) // not closed: a crash image
			f.Add(b)
		}
		l.Close()
		b, _ := os.ReadFile(path)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "events.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		known := func(err error) {
			if err != nil && !errors.Is(err, boltlog.ErrDamaged) && !errors.Is(err, boltlog.ErrNotEventLog) {
				t.Fatalf("not a log error: %v", err)
			}
		}
		_, err := boltlog.Check(path)
		known(err)
		for _, opts := range []boltlog.Options{{ReadOnly: true}, {}} {
			l, err := boltlog.Open(path, opts)
			known(err)
			if err != nil {
				continue
			}
			for _, err := range l.ReadAll(context.Background(), 0) {
				if err != nil {
					known(err)
					break
				}
			}
			l.Close()
		}
	})
}
