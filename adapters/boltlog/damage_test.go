package boltlog_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"

	bolt "go.etcd.io/bbolt"
)

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs := eventlogtest.Declarations(5)
	if _, err := l.Append(context.Background(), "unit-a", domain.NoStream, evs); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, path, boltlog.Options{})
	if h, _ := l.Head(context.Background()); h != 5 {
		t.Fatalf("head after reopen = %d, want 5", h)
	}
	// Idempotency survives the restart: the ids index is on disk.
	res, err := l.Append(context.Background(), "unit-a", domain.NoStream, evs)
	if err != nil || res.LastPosition != 5 {
		t.Fatalf("retry after reopen: %+v, %v", res, err)
	}
	res, err = l.Append(context.Background(), "unit-a", domain.Exact(4), eventlogtest.Declarations(1))
	if err != nil || res.LastPosition != 6 || res.Revision != 5 {
		t.Fatalf("append after reopen: %+v, %v", res, err)
	}
}

func TestOpenRefusesWhatIsNotALog(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	l, err := boltlog.Open(good, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), "unit-a", domain.NoStream, eventlogtest.Declarations(300)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	foreignBolt := filepath.Join(dir, "foreign-bolt.db")
	db, err := bolt.Open(foreignBolt, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("events")); return err })
	db.Close()

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zeroMeta := bytes.Clone(data)
	clear(zeroMeta[:2*4096])
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"text file", write("notes.txt", bytes.Repeat([]byte("bonjour le monde\n"), 500)), boltlog.ErrDamaged},
		{"random bytes", write("random.db", randomBytes(64<<10)), boltlog.ErrDamaged},
		{"a few bytes", write("short.db", []byte("dispo")), boltlog.ErrDamaged},
		{"truncated log", write("truncated.db", data[:len(data)/3]), boltlog.ErrDamaged},
		{"meta pages wiped", write("nometa.db", zeroMeta), boltlog.ErrDamaged},
		{"bbolt file of another program", foreignBolt, boltlog.ErrNotEventLog},
	} {
		before, _ := os.ReadFile(tc.path)
		l, err := boltlog.Open(tc.path, boltlog.Options{})
		if err == nil {
			l.Close()
			t.Errorf("%s: opened, want an error", tc.name)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		after, _ := os.ReadFile(tc.path)
		if !bytes.Equal(before, after) {
			t.Errorf("%s: refused open changed the file", tc.name)
		}
	}
}

func TestFlippedByteIsReportedNotPanicked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs := eventlogtest.Declarations(3)
	evs[1].CorrelationID = "marker-correlation-id-0123456789"
	if _, err := l.Append(context.Background(), "unit-a", domain.NoStream, evs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	eventlogtest.FlipEvery(t, path, "marker-correlation")
	l = mustOpen(t, path, boltlog.Options{})
	var n int
	var readErr error
	for _, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			readErr = err
			break
		}
		n++
	}
	if readErr == nil {
		t.Fatalf("read %d events of a damaged log without error", n)
	}
	if want := "position 2"; !bytes.Contains([]byte(readErr.Error()), []byte(want)) {
		t.Fatalf("error %q does not name %q", readErr, want)
	}
	if _, err := l.ReadStreamForward(context.Background(), "unit-a", 0, 0); err == nil {
		t.Fatal("stream read of a damaged record succeeded")
	}
}

func TestSecondWriterIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	mustOpen(t, path, boltlog.Options{})
	_, err := boltlog.Open(path, boltlog.Options{LockTimeout: 50e6})
	if !errors.Is(err, boltlog.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	if _, err := boltlog.Open(path, boltlog.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing log succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("read-only open created the file: %v", err)
	}
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(context.Background(), "s", domain.NoStream, eventlogtest.Declarations(2))
	l.Close()
	ro := mustOpen(t, path, boltlog.Options{ReadOnly: true})
	if h, _ := ro.Head(context.Background()); h != 2 {
		t.Fatalf("read-only head = %d", h)
	}
	if _, err := ro.Append(context.Background(), "s", domain.AnyRevision, eventlogtest.Declarations(1)); err == nil {
		t.Fatal("append on a read-only log succeeded")
	}
}

func TestClosedLog(t *testing.T) {
	l, err := boltlog.Open(filepath.Join(t.TempDir(), "events.db"), boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		for _, err := range l.Subscribe(context.Background(), 0) {
			done <- err
			return
		}
	}()
	l.Close()
	if err := <-done; !errors.Is(err, boltlog.ErrClosed) {
		t.Fatalf("subscription at close ended with %v, want ErrClosed", err)
	}
	if _, err := l.Append(context.Background(), "s", domain.AnyRevision, eventlogtest.Declarations(1)); !errors.Is(err, boltlog.ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
}

func TestBackupWhileAppending(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, filepath.Join(dir, "events.db"), boltlog.Options{})
	if _, err := l.Append(context.Background(), "s", domain.NoStream, eventlogtest.Declarations(100)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			l.Append(context.Background(), "t", domain.AnyRevision, eventlogtest.Declarations(1))
		}
	}()
	var buf bytes.Buffer
	if _, err := l.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	<-done
	copyPath := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustOpen(t, copyPath, boltlog.Options{ReadOnly: true})
	h, _ := c.Head(context.Background())
	n := 0
	for _, err := range c.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if h < 100 || n != int(h) {
		t.Fatalf("backup holds head %d and %d events", h, n)
	}
}
