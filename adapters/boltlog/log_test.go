package boltlog_test

import (
	"path/filepath"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
)

// mustOpen opens a fresh log in a temporary directory, closed at cleanup.
func mustOpen(tb testing.TB, path string, opts boltlog.Options) *boltlog.Log {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "events.db")
	}
	l, err := boltlog.Open(path, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	eventlogtest.Run(t, func(t *testing.T) eventlogtest.Log { return mustOpen(t, "", boltlog.Options{}) })
}
