package fixturegen_test

import (
	"context"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
)

func TestCachedLogBuildsOnceAndReuses(t *testing.T) {
	dir := t.TempDir()
	cfg := fixturegen.DefaultIleDeFrance()
	cfg.Events = 3000
	path, err := fixturegen.CachedLog(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := l.Head(context.Background())
	l.Close()
	if h != 3000 {
		t.Fatalf("log head %d, want 3000", h)
	}
	again, err := fixturegen.CachedLog(context.Background(), cfg, dir)
	if err != nil || again != path {
		t.Fatalf("second call: %q, %v", again, err)
	}
}
