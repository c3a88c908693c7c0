package boltlog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"
)

// A 0-byte events.db is what a crash at first start left before logs were
// created whole; it was silently taken for a new log and written over.
func TestEmptyFileIsRefusedNotRewritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []boltlog.Options{{}, {ReadOnly: true}} {
		_, err := boltlog.Open(path, opts)
		if !errors.Is(err, boltlog.ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "0 bytes") {
			t.Fatalf("open (read-only %v) of an empty file: %v", opts.ReadOnly, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("the empty file was changed: %v %v", fi, err)
	}
}

// A new log appears whole, through a temporary file linked into place:
// nothing else is left in the directory.
func TestNewLogIsCreatedWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	l := mustOpen(t, path, boltlog.Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "events.db" {
		t.Fatalf("directory after creating a log: %v", entries)
	}
	if _, err := boltlog.Check(path); err != nil {
		t.Fatalf("a new log does not pass Check: %v", err)
	}
	if _, err := boltlog.Open(filepath.Join(dir, "absent", "events.db"), boltlog.Options{}); err == nil {
		t.Fatal("creating a log in a missing directory succeeded")
	}
}

// Close marks the file as cleanly closed (its last commit syncs the
// freelist, so the next open need not walk every page); the first append
// after an open takes the mark away until the next Close.
func TestCloseMarksTheFileClean(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.Append(ctx, "unit-a", domain.NoStream, eventlogtest.Declarations(3)); err != nil {
		t.Fatal(err)
	}
	if clean, err := boltlog.CleanlyClosed(path); err != nil || clean {
		t.Fatalf("open log with appends: clean %v, %v", clean, err)
	}
	l.Close()
	if clean, err := boltlog.CleanlyClosed(path); err != nil || !clean {
		t.Fatalf("after Close: clean %v, %v", clean, err)
	}
	l, err = boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "unit-a", domain.Exact(2), eventlogtest.Declarations(1)); err != nil {
		t.Fatal(err)
	}
	if clean, _ := boltlog.CleanlyClosed(path); clean {
		t.Fatal("still marked clean after an append")
	}
	l.Close()
	if res, err := boltlog.Check(path); err != nil || res.Events != 4 || res.Streams != 1 {
		t.Fatalf("Check after reopen and append: %+v, %v", res, err)
	}
}

// A log found damaged by a read takes no append and Close leaves it as it is.
func TestDamagedLogIsLeftAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := mustOpen(t, path, boltlog.Options{})
	evs := eventlogtest.Declarations(3)
	evs[1].CorrelationID = "marker-correlation-id-0123456789"
	if _, err := l.Append(context.Background(), "unit-a", domain.NoStream, evs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	flipAll(t, path, "marker-correlation")
	before, _ := os.ReadFile(path)
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var readErr error
	for _, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			readErr = err
		}
	}
	if !errors.Is(readErr, boltlog.ErrDamaged) || !strings.Contains(readErr.Error(), path) {
		t.Fatalf("read of a damaged record: %v", readErr)
	}
	if _, err := l.Append(context.Background(), "unit-b", domain.NoStream, eventlogtest.Declarations(1)); !errors.Is(err, boltlog.ErrDamaged) {
		t.Fatalf("append to a log found damaged: %v", err)
	}
	l.Close()
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("Close wrote to a damaged log")
	}
}

// flipAll flips a bit of every copy of marker in the file (copy-on-write
// leaves stale copies of pages behind).
func flipAll(t *testing.T, path, marker string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for off := 0; ; n++ {
		i := strings.Index(string(data[off:]), marker)
		if i < 0 {
			break
		}
		data[off+i] ^= 0x20
		off += i + 1
	}
	if n == 0 {
		t.Fatalf("%q not in %s", marker, path)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
