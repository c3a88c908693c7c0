package app

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dispo/adapters/jsonl"
	"dispo/adapters/memlog"
	"dispo/domain"
	"dispo/projections"
)

func readFixture(t *testing.T, name string) []domain.Envelope {
	t.Helper()
	evs, err := jsonl.ReadFile(filepath.Join("..", "..", "..", "eventlog-fixtures", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return evs
}

// foldedLive is a Live that applied envs.
func foldedLive(envs []domain.Envelope) *projections.Live {
	live := projections.NewLive()
	for i := range envs {
		live.Apply(&envs[i])
	}
	return live
}

func snapshotOf(t *testing.T, live *projections.Live) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeSnapshot(&b, live.Image()); err != nil {
		t.Fatalf("writeSnapshot: %v", err)
	}
	return b.Bytes()
}

// A snapshot taken half way, loaded, then folded on, is written as the
// snapshot of a fold from 0 is: the file loses nothing of the image.
func TestSnapshotFileRoundTrips(t *testing.T) {
	envs := readFixture(t, "idf-dialyse.jsonl")
	half := len(envs) / 2
	saved := snapshotOf(t, foldedLive(envs[:half]))
	if v := binary.BigEndian.Uint32(saved[len(snapshotMagic):]); string(saved[:len(snapshotMagic)]) != snapshotMagic || v != 5 {
		t.Fatalf("the file starts %q, version %d; want %q, version 5", saved[:len(snapshotMagic)], v, snapshotMagic)
	}
	live, err := loadSnapshot(bytes.NewReader(saved))
	if err != nil {
		t.Fatalf("loadSnapshot: %v", err)
	}
	if live.Position() != uint64(half) || !live.LastChange().Equal(envs[half-1].RecordedAt) {
		t.Fatalf("loaded at position %d, last change %v; want %d, %v", live.Position(), live.LastChange(), half, envs[half-1].RecordedAt)
	}
	if again := snapshotOf(t, live); !bytes.Equal(again, saved) {
		t.Fatal("the snapshot of the loaded Live differs from the file it was loaded from")
	}
	for i := range envs[half:] {
		live.Apply(&envs[half+i])
	}
	if !bytes.Equal(snapshotOf(t, live), snapshotOf(t, foldedLive(envs))) {
		t.Fatal("the loaded Live, folded on, differs from a fold from 0")
	}

	empty := snapshotOf(t, projections.NewLive())
	live, err = loadSnapshot(bytes.NewReader(empty))
	if err != nil || live.Position() != 0 || !bytes.Equal(snapshotOf(t, live), empty) {
		t.Fatalf("the snapshot of an empty Live loads at %v (%v)", live, err)
	}
}

// A file that is damaged, truncated, empty, random, of another version or
// whose image does not hold together is refused; the server then folds
// from 0 and gets what it would have.
func TestSnapshotDamagedIsRefused(t *testing.T) {
	envs := readFixture(t, "seed-77.jsonl")
	good := snapshotOf(t, foldedLive(envs))

	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x20
		return b
	}
	otherVersion := bytes.Clone(good)
	binary.BigEndian.PutUint32(otherVersion[8:], 3)
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, len(good))
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	img := foldedLive(envs).Image()
	img.Trends.Position++
	var inconsistent bytes.Buffer
	if err := writeSnapshot(&inconsistent, img); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":            {nil, "empty"},
		"magic flipped":    {flip(0), "not a dispo projections snapshot"},
		"version":          {otherVersion, "version 3"},
		"length flipped":   {flip(19), ""},
		"payload flipped":  {flip(len(good) / 2), "checksum"},
		"checksum flipped": {flip(len(good) - 1), "checksum"},
		"truncated header": {good[:10], "truncated"},
		"truncated body":   {good[:len(good)/2], "truncated"},
		"truncated sum":    {good[:len(good)-1], "truncated"},
		"random":           {random, "not a dispo projections snapshot"},
		"jsonl":            {[]byte(`{"id":"65355ab0-d9e2-4a2d-87c9-c8c222632980","stream":"unit-1"}` + "\n"), "not a dispo projections snapshot"},
		"inconsistent":     {inconsistent.Bytes(), "positions disagree"},
	}
	log := memlog.New()
	t.Cleanup(func() { log.Close() })
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := loadSnapshot(bytes.NewReader(tc.data))
			if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadSnapshot: %v, want ErrBadSnapshot saying %q", err, tc.want)
			}
			if name == "inconsistent" && !errors.Is(err, projections.ErrBadImage) {
				t.Fatalf("loadSnapshot: %v, want it to wrap projections.ErrBadImage", err)
			}
			path := filepath.Join(t.TempDir(), snapshotFile)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			live := resume(t.Context(), path, log, slog.New(slog.NewTextHandler(&logs, nil)))
			if live.Position() != 0 || !live.LastChange().IsZero() || !strings.Contains(logs.String(), "snapshot refused") {
				t.Fatalf("resume from a refused snapshot: at %d, logged %s", live.Position(), logs.String())
			}
			for i := range envs {
				live.Apply(&envs[i])
			}
			if !bytes.Equal(snapshotOf(t, live), good) {
				t.Fatal("the Live that refused a snapshot then folded from 0 differs")
			}
		})
	}
	// Every single-bit flip anywhere is caught.
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 1 << (i % 8)
		if _, err := loadSnapshot(bytes.NewReader(b)); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("flipping a bit of byte %d: %v, want ErrBadSnapshot", i, err)
		}
	}
}

// A snapshot is read up to its end and no further: what follows it in the
// reader stays there.
func TestSnapshotReadsOnlyItself(t *testing.T) {
	good := snapshotOf(t, foldedLive(readFixture(t, "seed-77.jsonl")))
	r := bytes.NewReader(append(bytes.Clone(good), "after"...))
	if _, err := loadSnapshot(r); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "after" {
		t.Fatalf("left %q in the reader, want %q", rest, "after")
	}
}

// A reader that fails is not a damaged snapshot: its error comes back.
func TestSnapshotReadError(t *testing.T) {
	good := snapshotOf(t, foldedLive(readFixture(t, "seed-77.jsonl")))
	broken := errors.New("disque illisible")
	for _, n := range []int{0, 5, len(good) / 2} {
		_, err := loadSnapshot(io.MultiReader(bytes.NewReader(good[:n]), failingReader{broken}))
		if !errors.Is(err, broken) || errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("a read failing after %d bytes: %v, want the reader's error only", n, err)
		}
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }
