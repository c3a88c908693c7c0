package projections_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dispo/adapters/memlog"
	"dispo/domain"
	"dispo/projections"
)

// countingSource counts the events a Live reads through it, and the
// positions it subscribes after.
type countingSource struct {
	source
	read   atomic.Int64
	first  atomic.Uint64 // position of the first event read
	afters []uint64      // written by the one Follow goroutine only
}

func (c *countingSource) Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	c.afters = append(c.afters, after)
	return func(yield func(domain.Envelope, error) bool) {
		for env, err := range c.source.Subscribe(ctx, after) {
			if err == nil {
				c.read.Add(1)
				c.first.CompareAndSwap(0, env.Position)
			}
			if !yield(env, err) {
				return
			}
		}
	}
}

func openLog(t *testing.T) *memlog.Log {
	t.Helper()
	l := memlog.New()
	t.Cleanup(func() { l.Close() })
	return l
}

// fill appends envs to log, each at the revision it has in the fixture.
func fill(t *testing.T, log *memlog.Log, envs []domain.Envelope) {
	t.Helper()
	for len(envs) > 0 {
		n := min(len(envs), 500)
		reqs := make([]domain.AppendRequest, n)
		for i, env := range envs[:n] {
			reqs[i] = domain.AppendRequest{Stream: env.Stream, Expected: domain.Exact(int64(env.Revision) - 1), Events: []domain.Envelope{env}}
		}
		if _, err := log.AppendBatch(context.Background(), reqs); err != nil {
			t.Fatalf("append: %v", err)
		}
		envs = envs[n:]
	}
}

// caughtUp follows src with live until it reaches src's head, and returns
// the function that stops it.
func caughtUp(t *testing.T, live *projections.Live, src source) (stop func() []error) {
	t.Helper()
	head, err := src.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stop = following(t, live, src)
	if err := live.WaitFor(liveCtx(t), head); err != nil {
		t.Fatalf("catching up to %d: %v (at %d)", head, err, live.Position())
	}
	eventually(t, "Ready", live.Ready)
	return stop
}

// renderLive renders every view of live: those of render, and the trends of
// the whole window as JSON and CSV.
func renderLive(t *testing.T, live *projections.Live, now time.Time, from string) string {
	t.Helper()
	var b strings.Builder
	live.View(func(a *projections.Availability) { b.WriteString(render(t, a, now)) })
	live.ViewTrends(func(tr *projections.Trends) {
		rep, err := tr.Weekly(projections.TrendQuery{From: from, Now: now})
		if err != nil {
			t.Fatalf("weekly: %v", err)
		}
		if len(rep.Weeks) < 20 {
			t.Fatalf("the trends cover %d weeks, want the whole fixture", len(rep.Weeks))
		}
		js, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("\ntrends:\n")
		b.Write(js)
		if err := rep.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
	})
	return b.String()
}

func snapshotOf(t *testing.T, live *projections.Live) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := live.WriteSnapshot(&b); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	return b.Bytes()
}

// A Live that resumes from a snapshot taken half way, then follows the rest
// of the log, shows exactly what a Live that folded everything from 0 shows,
// and reads only the events after the snapshot.
func TestSnapshotResumesWhereItStopped(t *testing.T) {
	envs := readFixture(t, "idf-dialyse.jsonl")
	now := time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC)
	from := envs[0].RecordedAt.Format(time.DateOnly)
	half := len(envs) / 2
	log := openLog(t)
	fill(t, log, envs[:half])

	first := projections.NewLive()
	stop := caughtUp(t, first, log)
	path := filepath.Join(t.TempDir(), "projections.snap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WriteSnapshot(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	stop()
	if first.Position() != uint64(half) {
		t.Fatalf("first Live at %d, want %d", first.Position(), half)
	}
	firstLast := first.LastChange()

	fill(t, log, envs[half:])

	// The restart.
	resumed := projections.NewLive()
	f, err = os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.ReadSnapshot(f); err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	f.Close()
	if resumed.Position() != uint64(half) || !resumed.LastChange().Equal(firstLast) || resumed.Ready() {
		t.Fatalf("after ReadSnapshot: position %d, last change %v, ready %v; want %d, %v, false",
			resumed.Position(), resumed.LastChange(), resumed.Ready(), half, firstLast)
	}
	// Reading then writing gives the same bytes: nothing was lost.
	saved, _ := os.ReadFile(path)
	if again := snapshotOf(t, resumed); !bytes.Equal(again, saved) {
		t.Fatal("the snapshot of the restored Live differs from the snapshot it was restored from")
	}
	counting := &countingSource{source: log}
	caughtUp(t, resumed, counting)
	if n := counting.read.Load(); n != int64(len(envs)-half) {
		t.Errorf("the resumed Live read %d events, want the %d after the snapshot", n, len(envs)-half)
	}
	if p := counting.first.Load(); p != uint64(half+1) || counting.afters[0] != uint64(half) {
		t.Errorf("the resumed Live subscribed after %v and read first position %d, want after %d, first %d", counting.afters, p, half, half+1)
	}

	whole := projections.NewLive()
	caughtUp(t, whole, log)
	want := renderLive(t, whole, now, from)
	if got := renderLive(t, resumed, now, from); got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("resumed and whole Lives differ at line %d:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("resumed and whole Lives differ in length: %d and %d lines", len(gl), len(wl))
	}
	if !strings.Contains(want, " closed: ") || !hasPooled(want) {
		t.Fatal("the comparison shows no closed unit or no pooled unit")
	}
	if !bytes.Equal(snapshotOf(t, resumed), snapshotOf(t, whole)) {
		t.Error("the snapshots of the resumed and whole Lives differ")
	}

	// As-of queries: before the snapshot they fold from 0, after it from
	// the checkpoint kept at the snapshot's position; both as the whole Live.
	for _, at := range []time.Time{envs[half/3].RecordedAt, firstLast, envs[half+200].RecordedAt, now} {
		a1, err := resumed.AsOf(liveCtx(t), at, log)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := whole.AsOf(liveCtx(t), at, log)
		if err != nil {
			t.Fatal(err)
		}
		if r1, r2 := render(t, a1, at), render(t, a2, at); r1 != r2 {
			t.Errorf("as of %v the resumed and whole Lives disagree", at)
		}
	}
}

// hasPooled reports whether a rendering shows a pooled unit.
func hasPooled(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, " pool=\"") && !strings.Contains(line, ` pool=""`) {
			return true
		}
	}
	return false
}

// A snapshot that is damaged, truncated, empty, random or of another
// version is refused, and the Live stays empty and usable.
func TestSnapshotDamagedIsRefused(t *testing.T) {
	envs := readFixture(t, "seed-77.jsonl")
	log := openLog(t)
	fill(t, log, envs)
	src := projections.NewLive()
	caughtUp(t, src, log)
	good := snapshotOf(t, src)

	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x20
		return b
	}
	otherVersion := bytes.Clone(good)
	binary.BigEndian.PutUint32(otherVersion[8:], 2)
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, len(good))
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":            {nil, "empty"},
		"magic flipped":    {flip(0), "not a dispo projections snapshot"},
		"version":          {otherVersion, "version 2"},
		"length flipped":   {flip(19), ""},
		"payload flipped":  {flip(len(good) / 2), "checksum"},
		"checksum flipped": {flip(len(good) - 1), "checksum"},
		"truncated header": {good[:10], "truncated"},
		"truncated body":   {good[:len(good)/2], "truncated"},
		"truncated sum":    {good[:len(good)-1], "truncated"},
		"random":           {random, "not a dispo projections snapshot"},
		"jsonl":            {[]byte(`{"id":"65355ab0-d9e2-4a2d-87c9-c8c222632980","stream":"unit-1"}` + "\n"), "not a dispo projections snapshot"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			live := projections.NewLive()
			err := live.ReadSnapshot(bytes.NewReader(tc.data))
			if !errors.Is(err, projections.ErrBadSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadSnapshot: %v, want ErrBadSnapshot saying %q", err, tc.want)
			}
			var units int
			live.View(func(a *projections.Availability) { units = len(a.Units()) + int(a.Position()) })
			if live.Position() != 0 || units != 0 || !live.LastChange().IsZero() {
				t.Fatalf("after a refused snapshot the Live is at %d with %d units", live.Position(), units)
			}
			// The caller folds from 0 into the same Live.
			caughtUp(t, live, log)
			if !bytes.Equal(snapshotOf(t, live), good) {
				t.Fatal("the Live that refused a snapshot then folded from 0 differs")
			}
		})
	}
	// Every single-bit flip anywhere is caught.
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 1 << (i % 8)
		if err := projections.NewLive().ReadSnapshot(bytes.NewReader(b)); !errors.Is(err, projections.ErrBadSnapshot) {
			t.Fatalf("flipping a bit of byte %d: %v, want ErrBadSnapshot", i, err)
		}
	}
}

// The snapshot of an empty Live round-trips, and the Live then folds from 0.
func TestSnapshotOfEmptyLive(t *testing.T) {
	empty := snapshotOf(t, projections.NewLive())
	live := projections.NewLive()
	if err := live.ReadSnapshot(bytes.NewReader(empty)); err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	if live.Position() != 0 || !live.LastChange().IsZero() || !bytes.Equal(snapshotOf(t, live), empty) {
		t.Fatal("an empty snapshot does not give an empty Live")
	}
	log := openLog(t)
	caughtUp(t, live, log) // an empty log: ready at once
	envs := readFixture(t, "seed-77.jsonl")
	fill(t, log, envs)
	if err := live.WaitFor(liveCtx(t), uint64(len(envs))); err != nil {
		t.Fatal(err)
	}
	whole := projections.NewLive()
	caughtUp(t, whole, log)
	if !bytes.Equal(snapshotOf(t, live), snapshotOf(t, whole)) {
		t.Fatal("the Live restored empty then following differs from one folded from 0")
	}
}

// ReadSnapshot is for a Live that has not started; Follow refuses a
// snapshot past the log's head.
func TestSnapshotMisuse(t *testing.T) {
	envs := readFixture(t, "seed-77.jsonl")
	log := openLog(t)
	fill(t, log, envs)
	live := projections.NewLive()
	caughtUp(t, live, log)
	snap := snapshotOf(t, live)
	if err := live.ReadSnapshot(bytes.NewReader(snap)); err == nil || errors.Is(err, projections.ErrBadSnapshot) {
		t.Fatalf("ReadSnapshot on a following Live: %v, want a misuse error", err)
	}

	ahead := projections.NewLive()
	if err := ahead.ReadSnapshot(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	err := follow(liveCtx(t), ahead, openLog(t))
	if err == nil || !strings.Contains(err.Error(), "past the log's head") {
		t.Fatalf("Follow of an empty log from position %d: %v, want an error", ahead.Position(), err)
	}
}
