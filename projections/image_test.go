package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"reflect"
	"slices"
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
	})
	return b.String()
}

// A Live restored from the image of another taken half way, then following
// the rest of the log, shows exactly what a Live that folded everything from
// 0 shows, holds the same image, and reads only the events after the image.
func TestImageResumesWhereItStopped(t *testing.T) {
	envs := readFixture(t, "idf-dialyse.jsonl")
	now := time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC)
	from := envs[0].RecordedAt.Format(time.DateOnly)
	half := len(envs) / 2
	log := openLog(t)
	fill(t, log, envs[:half])

	first := projections.NewLive()
	stop := caughtUp(t, first, log)
	img := first.Image()
	stop()
	if first.Position() != uint64(half) || img.Position != uint64(half) {
		t.Fatalf("first Live at %d, its image at %d, want %d", first.Position(), img.Position, half)
	}
	firstLast := first.LastChange()
	if !img.LastChange.Equal(firstLast) {
		t.Fatalf("the image's last change %v, the Live's %v", img.LastChange, firstLast)
	}

	fill(t, log, envs[half:])

	// The restart.
	resumed := projections.NewLive()
	if err := resumed.Restore(img); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if resumed.Position() != uint64(half) || !resumed.LastChange().Equal(firstLast) || resumed.Ready() {
		t.Fatalf("after Restore: position %d, last change %v, ready %v; want %d, %v, false",
			resumed.Position(), resumed.LastChange(), resumed.Ready(), half, firstLast)
	}
	// Restoring then taking the image gives the same: nothing was lost.
	if again := resumed.Image(); !reflect.DeepEqual(again, img) {
		t.Fatal("the image of the restored Live differs from the image it was restored from")
	}
	counting := &countingSource{source: log}
	caughtUp(t, resumed, counting)
	if n := counting.read.Load(); n != int64(len(envs)-half) {
		t.Errorf("the resumed Live read %d events, want the %d after the image", n, len(envs)-half)
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
	if !reflect.DeepEqual(resumed.Image(), whole.Image()) {
		t.Error("the images of the resumed and whole Lives differ")
	}

	// As-of queries: before the image they fold from 0, after it from the
	// checkpoint kept at the image's position; both as the whole Live.
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

// An image whose folds do not hold together is refused, whatever part is
// wrong, and the Live stays empty and usable.
func TestImageInconsistentIsRefused(t *testing.T) {
	envs := readFixture(t, "idf-dialyse.jsonl")
	log := openLog(t)
	fill(t, log, envs)
	src := projections.NewLive()
	caughtUp(t, src, log)
	good := src.Image()
	a := &good.Availability
	if len(a.Pools) == 0 || len(good.Trends.Weeks) < 2 {
		t.Fatalf("the fixture's image has %d pools and %d weeks: too few to damage", len(a.Pools), len(good.Trends.Weeks))
	}
	// unit is the index of a unit of the image that is in a pool.
	unit := slices.IndexFunc(a.Units, func(u projections.UnitImage) bool { return u.ID == a.Pools[0].Members[0] })

	cases := map[string]struct {
		edit func(img *projections.Image)
		want string
	}{
		"availability position": {func(img *projections.Image) { img.Availability.Position++ }, "positions disagree"},
		"trends position":       {func(img *projections.Image) { img.Trends.Position-- }, "positions disagree"},
		"last change":           {func(img *projections.Image) { img.LastChange = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }, "out of range"},
		"unit id empty":         {func(img *projections.Image) { img.Availability.Units[0].ID = "" }, "empty or repeated"},
		"unit repeated": {func(img *projections.Image) {
			img.Availability.Units = append(img.Availability.Units, img.Availability.Units[3])
		}, "empty or repeated"},
		"declared after the fold": {func(img *projections.Image) { img.Availability.Units[1].DeclarationSeq = img.Availability.Seq + 1 }, "after the fold"},
		"no event":                {func(img *projections.Image) { img.Availability.Units[2].Events = 0 }, "no event"},
		"open with a closure": {func(img *projections.Image) {
			u := &img.Availability.Units[2]
			u.Closed, u.Closure.Reason = false, "travaux"
		}, "open with a closure"},
		"pool repeated": {func(img *projections.Image) {
			img.Availability.Pools = append(img.Availability.Pools, img.Availability.Pools[0])
		}, "repeated, empty"},
		"pool empty":              {func(img *projections.Image) { img.Availability.Pools[0].Members = nil }, "repeated, empty"},
		"pool after the fold":     {func(img *projections.Image) { img.Availability.Pools[0].Seq = img.Availability.Seq + 1 }, "declared after the fold"},
		"pool member unknown":     {func(img *projections.Image) { img.Availability.Pools[0].Members[0] = "nobody" }, "unknown"},
		"member pooled elsewhere": {func(img *projections.Image) { img.Availability.Units[unit].Pool = "elsewhere" }, "not pooled in it"},
		"pooled in no pool":       {func(img *projections.Image) { img.Availability.Units[0].Pool = "nowhere" }, "no such pool holds it"},
		"pool count":              {func(img *projections.Image) { img.Availability.Pools[0].Available++ }, "newest member"},
		"pool sequence":           {func(img *projections.Image) { img.Availability.Pools[0].Seq-- }, "newest member"},
		"region":                  {func(img *projections.Image) { img.Trends.Groups[0].Department = "77" }, "not the region"},
		"no group":                {func(img *projections.Image) { img.Trends.Groups = nil }, "not the region"},
		"group repeated": {func(img *projections.Image) {
			img.Trends.Groups = append(img.Trends.Groups, img.Trends.Groups[1])
		}, "repeated"},
		"cell out of range": {func(img *projections.Image) {
			for i := range img.Trends.Groups {
				if g := &img.Trends.Groups[i]; g.Department != "" && g.Type != "" {
					g.Cell[1] = int32(len(img.Trends.Groups))
					return
				}
			}
		}, "out of range"},
		"trends unit missing": {func(img *projections.Image) { img.Trends.Units = img.Trends.Units[1:] }, "units, availability"},
		"trends unit unknown": {func(img *projections.Image) { img.Trends.Units[0].ID = "nobody" }, "unknown or repeated"},
		"trends unit cell":    {func(img *projections.Image) { img.Trends.Units[0].Cell = 0 }, "in no cell"},
		"trends pool missing": {func(img *projections.Image) { img.Trends.Pools = nil }, "pools, availability"},
		"trends pool groups":  {func(img *projections.Image) { img.Trends.Pools[0].Groups = append(img.Trends.Pools[0].Groups, -2) }, "out of range"},
		"week span":           {func(img *projections.Image) { img.Trends.Weeks[0].Span = 0 }, "does not fit"},
		"weeks apart":         {func(img *projections.Image) { img.Trends.Weeks[1].N++ }, "does not fit"},
		"week unit cell": {func(img *projections.Image) {
			w := &img.Trends.Weeks[len(img.Trends.Weeks)-1]
			w.Units[0].Cell = 0
		}, "in no cell"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			img := src.Image() // a copy of its own to damage
			tc.edit(&img)
			live := projections.NewLive()
			err := live.Restore(img)
			if !errors.Is(err, projections.ErrBadImage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want ErrBadImage saying %q", err, tc.want)
			}
			var units int
			live.View(func(a *projections.Availability) { units = len(a.Units()) + int(a.Position()) })
			if live.Position() != 0 || units != 0 || !live.LastChange().IsZero() {
				t.Fatalf("after a refused image the Live is at %d with %d units", live.Position(), units)
			}
			// The caller folds from 0 into the same Live.
			caughtUp(t, live, log)
			if !reflect.DeepEqual(live.Image(), good) {
				t.Fatal("the Live that refused an image then folded from 0 differs")
			}
		})
	}
}

// Neither an image nor the Live restored from it sees the other change.
func TestImageSharesNothing(t *testing.T) {
	envs := readFixture(t, "idf-dialyse.jsonl")
	log := openLog(t)
	fill(t, log, envs[:len(envs)/2])
	src := projections.NewLive()
	stop := caughtUp(t, src, log)
	img, kept := src.Image(), src.Image()
	fill(t, log, envs[len(envs)/2:])
	if err := src.WaitFor(liveCtx(t), uint64(len(envs))); err != nil {
		t.Fatal(err)
	}
	stop()
	if !reflect.DeepEqual(img, kept) {
		t.Fatal("the Live changed an image it gave out")
	}

	restored := projections.NewLive()
	if err := restored.Restore(img); err != nil {
		t.Fatal(err)
	}
	for i := range img.Availability.Units {
		u := &img.Availability.Units[i]
		u.Unit.Name, u.Closure.Reason, u.Comment = "changed", "changed", "changed"
	}
	for i := range img.Availability.Pools {
		p := &img.Availability.Pools[i]
		slices.Reverse(p.Members)
	}
	for i := range img.Trends.Pools {
		p := &img.Trends.Pools[i]
		for j := range p.Groups {
			p.Groups[j] = -1
		}
	}
	for i := range img.Trends.Weeks {
		w := &img.Trends.Weeks[i]
		for j := range w.Units {
			w.Units[j].Declarations = -1
		}
		for j := range w.Groups {
			w.Groups[j].AvailableMs = -1
		}
	}
	if !reflect.DeepEqual(restored.Image(), kept) {
		t.Fatal("the restored Live shares its state with the image it was restored from")
	}
}

// The image of an empty Live restores, and the Live then folds from 0.
func TestImageOfEmptyLive(t *testing.T) {
	empty := projections.NewLive().Image()
	live := projections.NewLive()
	if err := live.Restore(empty); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if live.Position() != 0 || !live.LastChange().IsZero() || !reflect.DeepEqual(live.Image(), empty) {
		t.Fatal("an empty image does not give an empty Live")
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
	if !reflect.DeepEqual(live.Image(), whole.Image()) {
		t.Fatal("the Live restored empty then following differs from one folded from 0")
	}
}

// Restore is for a Live that has not started; Begin refuses an image past
// the log's head.
func TestRestoreMisuse(t *testing.T) {
	envs := readFixture(t, "seed-77.jsonl")
	log := openLog(t)
	fill(t, log, envs)
	live := projections.NewLive()
	caughtUp(t, live, log)
	img := live.Image()
	if err := live.Restore(img); err == nil || errors.Is(err, projections.ErrBadImage) {
		t.Fatalf("Restore on a following Live: %v, want a misuse error", err)
	}
	begun := projections.NewLive()
	if err := begun.Begin(0); err != nil {
		t.Fatal(err)
	}
	if err := begun.Restore(img); err == nil || errors.Is(err, projections.ErrBadImage) {
		t.Fatalf("Restore after Begin: %v, want a misuse error", err)
	}

	ahead := projections.NewLive()
	if err := ahead.Restore(img); err != nil {
		t.Fatal(err)
	}
	err := follow(liveCtx(t), ahead, openLog(t))
	if err == nil || !strings.Contains(err.Error(), "past the log's head") {
		t.Fatalf("Follow of an empty log from position %d: %v, want an error", ahead.Position(), err)
	}
}
