package boltlog_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	eventlogtest.FlipEvery(t, path, "marker-correlation")
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

// A commit that fails (here for want of room: the file may not grow) is
// rolled back, and bbolt then rebuilt its freelist by walking every page in
// a goroutine: on a file with a damaged leaf, which the checks at a clean
// open do not read, that goroutine killed the process. The freelist is now
// synced, and a rollback reads it back.
func TestRolledBackCommitOnADamagedLeaf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := mustOpen(t, path, boltlog.Options{})
	for s := range 20 {
		if _, err := l.Append(context.Background(), "unit-"+strconv.Itoa(s), domain.NoStream, eventlogtest.Declarations(40)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	// Break the key order of a live leaf of many 8-byte keys (the events
	// bucket): Check must see it (a stale copy in a free page would not do).
	clean, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	damaged := false
	for p := 2; p < len(clean)/page && !damaged; p++ {
		data := bytes.Clone(clean)
		h := data[p*page:]
		if binary.NativeEndian.Uint64(h) != uint64(p) || binary.NativeEndian.Uint16(h[8:]) != 0x02 || binary.NativeEndian.Uint16(h[10:]) < 10 {
			continue
		}
		e := h[16+16:] // the second element: flags, pos, ksize, vsize
		if binary.NativeEndian.Uint32(e[8:]) != 8 {
			continue
		}
		h[16+16+int(binary.NativeEndian.Uint32(e[4:]))] = 0xFF
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := boltlog.Check(path)
		damaged = err != nil && strings.Contains(err.Error(), "out of order")
	}
	if !damaged {
		t.Fatal("no live leaf of the events bucket found")
	}
	l, err = boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Logf("refused at open: %v", err)
		return // refused at open: as good
	}
	defer l.Close()
	// One commit that goes through (it touches only the newest leaves),
	// then one rolled back.
	if _, err := l.Append(context.Background(), "unit-new", domain.NoStream, eventlogtest.Declarations(1)); err != nil {
		t.Fatal(err)
	}
	// The file may not grow: the commit that needs more room fails. The
	// limit is the test process's own; no other test runs meanwhile.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(fi.Size()), Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	var failed error
	for i := 0; i < 200 && failed == nil; i++ {
		_, failed = l.Append(context.Background(), "unit-big", domain.AnyRevision, eventlogtest.Declarations(200))
	}
	if failed == nil {
		t.Fatal("the file grew past its limit")
	}
	t.Logf("the commit failed as it should: %v", failed)
}

// Check beside a writer: the file changes under a walk, which reads as
// damage ("key out of order"); Check now waits for the lock and says the
// log is in use.
func TestCheckBesideAWriterSaysLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := mustOpen(t, path, boltlog.Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			if _, err := l.Append(context.Background(), "unit-"+strconv.Itoa(i%50), domain.AnyRevision, eventlogtest.Declarations(5)); err != nil {
				return
			}
		}
	}()
	for range 2 {
		if _, err := boltlog.Check(path); !errors.Is(err, boltlog.ErrLocked) {
			t.Fatalf("Check beside a writer: %v", err)
		}
	}
	<-done
}
