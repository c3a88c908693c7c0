package esdblog_test

import (
	"os"
	"testing"

	"dispo/adapters/esdblog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"
)

// fill appends n events over a few streams, returning them in order.
func fill(t *testing.T, l *esdblog.Log, n int) []domain.Envelope {
	t.Helper()
	var out []domain.Envelope
	for i := 0; i < n; i++ {
		evs := eventlogtest.Declarations(1)
		stream := []string{"unit-a", "unit-b", "unit-c"}[i%3]
		if _, err := l.Append(testCtx(t), stream, domain.AnyRevision, evs); err != nil {
			t.Fatal(err)
		}
		evs[0].Stream = stream
		out = append(out, evs...)
	}
	return out
}

// A restart resumes the index from its checkpoint file instead of indexing
// $all from the start, and gives the same positions.
func TestCheckpointResumes(t *testing.T) {
	srv := startStandin(t)
	dir := t.TempDir()
	opts := testOptions(t)
	opts.Dir = dir
	l, err := openClosable(t, srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := fill(t, l, 200)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	again := mustOpen(t, srv.URL(), opts)
	if got := esdblog.Loaded(again); got != 192 {
		t.Fatalf("reopened with %d positions from the checkpoint, want 192 (3 complete blocks of 64)", got)
	}
	checkLog(t, again, want)
	want = append(want, fill(t, again, 10)...)
	checkLog(t, again, want)
}

// A damaged checkpoint is used up to its damage; one written for another
// database is noticed and dropped: positions stay right either way.
func TestCheckpointDamagedOrForeign(t *testing.T) {
	srv := startStandin(t)
	dir := t.TempDir()
	opts := testOptions(t)
	opts.Dir = dir
	l, err := openClosable(t, srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := fill(t, l, 200)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := esdblog.CheckpointPath(dir, "dispo-")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 0xff // the last block's checksum fails
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = openClosable(t, srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := esdblog.Loaded(l); got != 128 {
		t.Fatalf("reopened with %d positions from a damaged checkpoint, want 128", got)
	}
	checkLog(t, l, want)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Another database, the same directory.
	other := startStandin(t)
	ol := mustOpen(t, other.URL(), opts)
	if h, _ := ol.Head(testCtx(t)); h != 0 {
		t.Fatalf("head %d on an empty database with a foreign checkpoint, want 0", h)
	}
	mine := fill(t, ol, 5)
	checkLog(t, ol, mine)

	// Not a checkpoint at all.
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	l2 := mustOpen(t, srv.URL(), opts)
	checkLog(t, l2, want)
}

func openClosable(t *testing.T, url string, opts esdblog.Options) (*esdblog.Log, error) {
	t.Helper()
	return esdblog.Open(testCtx(t), url, opts)
}
