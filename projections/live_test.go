package projections_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/adapters/memlog"
	"dispo/domain"
	"dispo/projections"

	"github.com/google/uuid"
)

// liveClock is the injectable clock that stamps the events the tests
// write: distinct instants, to the nanosecond, never in UTC.
type liveClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *liveClock) next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second + 7)
	return c.t
}

// liveLog is a log and a writer that appends as the ledger would: one
// stream per unit, at the exact revision.
type liveLog struct {
	t     *testing.T
	log   eventlogtest.Log
	clock *liveClock
	mu    sync.Mutex
	revs  map[string]int64
}

func newLiveLog(t *testing.T) *liveLog {
	t.Helper()
	l := memlog.New()
	t.Cleanup(func() { l.Close() })
	return &liveLog{t: t, log: l, revs: map[string]int64{},
		clock: &liveClock{t: time.Date(2025, 3, 11, 11, 0, 0, 0, time.FixedZone("CET", 3600))}}
}

// newFileLiveLog is newLiveLog on the embedded log, whose appends each wait
// for a sync: for a test that needs readers to overlap the appends, which
// in memory are over before a reader is scheduled.
func newFileLiveLog(t *testing.T) *liveLog {
	t.Helper()
	l, err := boltlog.Open(filepath.Join(t.TempDir(), "events.db"), boltlog.Options{})
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return &liveLog{t: t, log: l, revs: map[string]int64{},
		clock: &liveClock{t: time.Date(2025, 3, 11, 11, 0, 0, 0, time.FixedZone("CET", 3600))}}
}

func liveCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// append writes evs to the unit's stream in one append, all recorded at the
// same instant, and returns the result and that instant. Safe for concurrent
// use on distinct units.
func (l *liveLog) append(unitID string, evs ...domain.Event) (domain.AppendResult, time.Time) {
	l.t.Helper()
	stream := domain.UnitStream(unitID)
	at := l.clock.next()
	envs := make([]domain.Envelope, len(evs))
	for i, e := range evs {
		envs[i] = domain.Envelope{ID: domain.EventID(uuid.Must(uuid.NewV7())), Stream: stream, SchemaVersion: domain.CurrentSchema(e.EventType()),
			RecordedAt: at, Actor: domain.Actor{UserID: "resp-77", Role: domain.RoleResponsable, Establishment: "770110054"},
			Source: domain.SourceAPI, Event: e}
	}
	l.mu.Lock()
	rev, ok := l.revs[stream]
	if !ok {
		rev = domain.NoStreamRevision
	}
	l.mu.Unlock()
	res, err := l.log.Append(context.Background(), stream, domain.Exact(rev), envs)
	if err != nil {
		l.t.Errorf("append %d events to %s: %v", len(evs), stream, err)
		return domain.AppendResult{}, at
	}
	l.mu.Lock()
	l.revs[stream] = res.Revision
	l.mu.Unlock()
	return res, at
}

func (l *liveLog) register(id, dept, finess string) {
	l.t.Helper()
	l.append(id, domain.UnitRegistered{Unit: domain.Unit{ID: id, FINESS: finess, Establishment: "Etab " + finess, Department: dept,
		Type: "udm", Name: "UDM " + id, Phone: "01 64 00 00 00"}})
}

func (l *liveLog) declare(id string, available int) (domain.AppendResult, time.Time) {
	l.t.Helper()
	return l.append(id, domain.AvailabilityDeclared{Available: available, Installed: 20, ClosedPlaces: 1})
}

func (l *liveLog) head() uint64 {
	l.t.Helper()
	h, err := l.log.Head(context.Background())
	if err != nil {
		l.t.Fatalf("head: %v", err)
	}
	return h
}

// source is what the tests fold into a Live from: a log's head and a
// subscription.
type source interface {
	Head(ctx context.Context) (uint64, error)
	Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// follow feeds live from src as a server's follower does
// (cmd/dispo/app.Follow, whose tests cover resuming), until ctx ends or the
// subscription breaks: then the error is given to live.Fail and returned.
func follow(ctx context.Context, live *projections.Live, src source) error {
	head, err := src.Head(ctx)
	if err != nil {
		live.Fail(err)
		return err
	}
	if err := live.Begin(head); err != nil {
		return err
	}
	for env, err := range src.Subscribe(ctx, live.Position()) {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			live.Fail(err)
			return err
		}
		live.Apply(&env)
	}
	return ctx.Err()
}

// following runs follow(live, src) until the test ends or stop is called;
// stop returns the error that broke the subscription, if one did.
func following(t *testing.T, live *projections.Live, src source) (stop func() []error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- follow(ctx, live, src) }()
	stopped := false
	stop = func() []error {
		t.Helper()
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return []error{err}
		case <-time.After(10 * time.Second):
			t.Fatalf("follow did not return within 10s of its context being cancelled")
		}
		return nil
	}
	t.Cleanup(func() { stop() })
	return stop
}

// eventually polls cond until it holds, failing after a deadline. It polls
// without sleeping, so that a state that holds only briefly (Ready before
// the catch-up is done) is seen.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		runtime.Gosched()
	}
}

func unitView(t *testing.T, live *projections.Live, id string) projections.UnitView {
	t.Helper()
	var v projections.UnitView
	var ok bool
	live.View(func(a *projections.Availability) { v, ok = a.Unit(id) })
	if !ok {
		t.Fatalf("unit %s is not in the view", id)
	}
	return v
}

func TestLiveFollowCatchesUpThenFollows(t *testing.T) {
	l := newLiveLog(t)
	l.register("77-A-01", "77", "770000001")
	l.register("77-A-02", "77", "770000001")
	l.register("75-B-01", "75", "750000001")
	// More events than the log reads at once (2048), in batches of 100.
	ids := []string{"77-A-01", "77-A-02", "75-B-01"}
	for b := range 30 {
		batch := make([]domain.Event, 100)
		for j := range batch {
			batch[j] = domain.AvailabilityDeclared{Available: j % 10, Installed: 20}
		}
		l.append(ids[b%3], batch...)
	}
	for i, id := range ids {
		l.declare(id, 7+i)
	}
	l.append("77-A-02", domain.UnitClosed{Reason: "travaux", Start: l.clock.next().UTC(), Reopenable: true})
	_, lastAt := l.append("75-B-01", domain.CommentSet{Text: "2 postes en panne"})
	target := l.head()

	live := projections.NewLive()
	if live.Ready() || live.Position() != 0 || !live.LastChange().IsZero() {
		t.Fatalf("new Live: ready %v position %d last change %v, want false, 0, zero", live.Ready(), live.Position(), live.LastChange())
	}
	stop := following(t, live, l.log)

	eventually(t, "Ready", live.Ready)
	if pos := live.Position(); pos < target {
		t.Fatalf("Ready at position %d, before the head %d seen at start", pos, target)
	}
	live.View(func(a *projections.Availability) {
		if a.Position() != target {
			t.Errorf("view at position %d, want %d", a.Position(), target)
		}
		var ids []string
		for _, u := range a.Units() {
			ids = append(ids, u.ID)
		}
		if fmt.Sprint(ids) != "[75-B-01 77-A-01 77-A-02]" {
			t.Errorf("units %v, want [75-B-01 77-A-01 77-A-02]", ids)
		}
	})
	if v := unitView(t, live, "77-A-01"); v.Available != 7 || v.Installed != 20 || v.ClosedPlaces != 1 || v.Revision != 1001 {
		t.Errorf("77-A-01: available %d installed %d closed %d revision %d, want 7, 20, 1, 1001", v.Available, v.Installed, v.ClosedPlaces, v.Revision)
	}
	if v := unitView(t, live, "77-A-02"); !v.IsUnitClosed() || v.Available != 0 {
		t.Errorf("77-A-02: closed %v available %d, want closed with 0", v.IsUnitClosed(), v.Available)
	}
	if v := unitView(t, live, "75-B-01"); v.Available != 9 || v.Comment != "2 postes en panne" {
		t.Errorf("75-B-01: available %d comment %q, want 9 and the comment", v.Available, v.Comment)
	}
	if got := live.LastChange(); !got.Equal(lastAt) || got.Location() != time.UTC {
		t.Errorf("LastChange %v, want %v in UTC", got, lastAt.UTC())
	}

	// Appends made after catching up are applied; WaitFor gives read-your-write.
	res, at := l.append("77-A-01", domain.AvailabilityDeclared{Available: 3, Installed: 20}, domain.CommentSet{Text: "ok"})
	ctx, cancel := context.WithTimeout(liveCtx(t), 10*time.Second)
	defer cancel()
	if err := live.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatalf("WaitFor(%d): %v", res.LastPosition, err)
	}
	if pos := live.Position(); pos != res.LastPosition {
		t.Fatalf("position %d after WaitFor, want %d", pos, res.LastPosition)
	}
	if v := unitView(t, live, "77-A-01"); v.Available != 3 || v.Comment != "ok" || v.Revision != res.Revision {
		t.Fatalf("77-A-01 after the new append: available %d comment %q revision %d, want 3, ok, %d", v.Available, v.Comment, v.Revision, res.Revision)
	}
	if got := live.LastChange(); !got.Equal(at) {
		t.Fatalf("LastChange %v, want %v", got, at.UTC())
	}

	l.register("93-C-01", "93", "930000001")
	if err := live.WaitFor(ctx, l.head()); err != nil {
		t.Fatalf("WaitFor(%d): %v", l.head(), err)
	}
	unitView(t, live, "93-C-01")

	// A position never reached: WaitFor gives up with its context.
	short, cancelShort := context.WithTimeout(liveCtx(t), 50*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	if err := live.WaitFor(short, l.head()+5); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor a position never reached: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("WaitFor returned %v after its 50ms deadline", d)
	}
	// A position already reached needs no waiting, whatever the context.
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if err := live.WaitFor(done, res.LastPosition); err != nil {
		t.Fatalf("WaitFor a position already reached: %v", err)
	}

	if errs := stop(); len(errs) != 0 {
		t.Fatalf("follow reported errors: %v", errs)
	}
}

func TestLiveReadyOnEmptyLog(t *testing.T) {
	l := newLiveLog(t)
	live := projections.NewLive()
	following(t, live, l.log)
	eventually(t, "Ready on an empty log", live.Ready)
	if live.Position() != 0 {
		t.Fatalf("position %d on an empty log", live.Position())
	}

	l.register("77-A-01", "77", "770000001")
	res, at := l.declare("77-A-01", 4)
	if err := live.WaitFor(liveCtx(t), res.LastPosition); err != nil {
		t.Fatalf("WaitFor(%d): %v", res.LastPosition, err)
	}
	if v := unitView(t, live, "77-A-01"); v.Available != 4 || !v.LastDeclaredAt.Equal(at) {
		t.Fatalf("77-A-01: available %d declared at %v, want 4 at %v", v.Available, v.LastDeclaredAt, at)
	}
}

// Many readers query while events are appended: each sees whole events
// only (run with -race) and positions that never go back.
func TestLiveConcurrentReaders(t *testing.T) {
	l := newFileLiveLog(t)
	units := []string{"77-A-01", "77-A-02", "75-B-01", "93-C-01"}
	for _, id := range units {
		l.register(id, id[:2], id[:2]+"0000001")
	}
	live := projections.NewLive()
	stop := following(t, live, l.log)
	eventually(t, "Ready", live.Ready)

	const readers, appends = 8, 200
	var (
		wg       sync.WaitGroup
		finished atomic.Bool
		reads    atomic.Int64
	)
	for r := range readers {
		wg.Go(func() {
			var lastView, lastPos uint64
			var lastChange time.Time
			for !finished.Load() {
				var problem string
				live.View(func(a *projections.Availability) {
					// Every event is a unit's: the streams' lengths add up to the position.
					var events int64
					for _, u := range a.Units() {
						events += u.Revision + 1
					}
					switch pos := a.Position(); {
					case pos < lastView:
						problem = fmt.Sprintf("view position went back from %d to %d", lastView, pos)
					case uint64(events) != pos:
						problem = fmt.Sprintf("view at position %d holds %d events", pos, events)
					default:
						lastView = pos
					}
				})
				if problem != "" {
					t.Errorf("reader %d: %s", r, problem)
					return
				}
				if pos := live.Position(); pos < lastPos {
					t.Errorf("reader %d: Position went back from %d to %d", r, lastPos, pos)
					return
				} else {
					lastPos = pos
				}
				if at := live.LastChange(); at.Before(lastChange) {
					t.Errorf("reader %d: LastChange went back from %v to %v", r, lastChange, at)
					return
				} else {
					lastChange = at
				}
				reads.Add(1)
			}
		})
	}

	var last domain.AppendResult
	for i := range appends {
		id := units[i%len(units)]
		if i%10 == 0 {
			last, _ = l.append(id, domain.AvailabilityDeclared{Available: i % 9, Installed: 20}, domain.CommentSet{Text: fmt.Sprint("note ", i)})
		} else {
			last, _ = l.declare(id, i%9)
		}
	}
	if err := live.WaitFor(liveCtx(t), last.LastPosition); err != nil {
		t.Errorf("WaitFor(%d): %v", last.LastPosition, err)
	}
	finished.Store(true)
	wg.Wait()
	if errs := stop(); len(errs) != 0 {
		t.Fatalf("follow reported errors: %v", errs)
	}
	if reads.Load() == 0 {
		t.Fatalf("no read completed")
	}
	if want := uint64(len(units) + appends + appends/10); live.Position() != want || l.head() != want {
		t.Fatalf("position %d, head %d, want %d", live.Position(), l.head(), want)
	}
}

// A record the fold cannot read keeps the projections from claiming
// readiness, and Readiness names its position: a service must not answer
// from a fold stuck before it.
func TestLiveNotReadyPastADamagedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ll := &liveLog{t: t, log: l, revs: map[string]int64{}, clock: &liveClock{t: time.Date(2025, 3, 11, 11, 0, 0, 0, time.UTC)}}
	ll.register("77-A-01", "77", "770000001")
	ll.declare("77-A-01", 3)
	ll.append("77-A-01", domain.CommentSet{Text: "marqueur-de-dommage"})
	ll.declare("77-A-01", 4)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	eventlogtest.FlipEvery(t, path, "marqueur-de-dommage")
	l, err = boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	live := projections.NewLive()
	if err := live.Readiness(); err == nil {
		t.Fatal("a Live that never followed says it is ready")
	}
	stop := following(t, live, l)
	eventually(t, "the fold reaches the damaged record", func() bool {
		return live.Position() == 2 && live.Readiness() != nil && strings.Contains(live.Readiness().Error(), "position 3")
	})
	if live.Ready() || live.Position() != 2 {
		t.Fatalf("ready %v at position %d past a damaged record at 3", live.Ready(), live.Position())
	}
	if errs := stop(); len(errs) == 0 {
		t.Fatal("the damaged record was not reported")
	}
}

// Readiness as the follower reports it: Begin sets the head to reach, Fail
// holds until the next Apply, and events applied without Begin make no
// claim of readiness.
func TestLiveReadinessFromItsFollower(t *testing.T) {
	env := func(pos uint64) *domain.Envelope {
		return &domain.Envelope{Position: pos, Stream: domain.UnitStream("77-A-01"), RecordedAt: time.Date(2025, 3, 11, 10, 0, 0, int(pos), time.UTC),
			Event: domain.AvailabilityDeclared{Available: 1, Installed: 2}}
	}
	live := projections.NewLive()
	live.Apply(env(1))
	if live.Ready() {
		t.Fatal("ready without Begin")
	}
	if err := live.Begin(3); err != nil {
		t.Fatal(err)
	}
	if err := live.Readiness(); err == nil || !strings.Contains(err.Error(), "position 1 sur 3") {
		t.Fatalf("readiness %v, want catching up at 1 of 3", err)
	}
	live.Apply(env(2))
	live.Apply(env(3))
	if !live.Ready() {
		t.Fatalf("not ready at the head: %v", live.Readiness())
	}
	live.Fail(errors.New("connection reset"))
	if err := live.Readiness(); err == nil || !strings.Contains(err.Error(), "arrêtées à la position 3 : connection reset") {
		t.Fatalf("readiness %v after Fail", err)
	}
	live.Apply(env(4))
	if !live.Ready() {
		t.Fatalf("an Apply did not clear the Fail: %v", live.Readiness())
	}
	if err := live.Begin(2); err == nil {
		t.Fatal("Begin with a head behind the position was accepted")
	}
	caughtUp := projections.NewLive()
	if err := caughtUp.Begin(0); err != nil || !caughtUp.Ready() {
		t.Fatalf("Begin(0) on an empty Live: %v, ready %v", err, caughtUp.Ready())
	}
}
