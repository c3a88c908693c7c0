package boltlog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"

	bolt "go.etcd.io/bbolt"
)

// fsyncFloor measures, in dir, how many 4 KiB write+fdatasync rounds the
// disk does per second: no durable log can commit more often than that.
func fsyncFloor(b *testing.B, dir string) float64 {
	b.Helper()
	f, err := os.CreateTemp(dir, "fsync")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	const rounds = 300
	start := time.Now()
	for i := 0; i < rounds; i++ {
		if _, err := f.WriteAt(page, int64(i%16)*4096); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
	return rounds / time.Since(start).Seconds()
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// benchAppend has `appenders` goroutines append one event per call to
// their own streams until b.N events are stored, and reports throughput,
// latency percentiles and the fsync floor of the same disk.
func benchAppend(b *testing.B, appenders int) {
	dir := b.TempDir()
	floor := fsyncFloor(b, dir)
	l, err := boltlog.Open(filepath.Join(dir, "events.db"), boltlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	evs := eventlogtest.Declarations(b.N)
	lat := make([][]time.Duration, appenders)
	var wg sync.WaitGroup
	startCommits := l.Stats().Commits
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < appenders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("unit-bench-%d", w)
			for i := w; i < b.N; i += appenders {
				t0 := time.Now()
				if _, err := l.Append(context.Background(), stream, domain.AnyRevision, evs[i:i+1]); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(percentile(all, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(floor, "floor-fsync/s")
	b.ReportMetric(rate/floor, "events/fsync")
	b.ReportMetric(float64(b.N)/float64(l.Stats().Commits-startCommits), "events/commit")
}

// BenchmarkAppend64: the goal is >= 50,000 events/s with p99 <= 5 ms.
func BenchmarkAppend64(b *testing.B) { benchAppend(b, 64) }

// BenchmarkAppend1: one appender alone pays a full commit per event.
func BenchmarkAppend1(b *testing.B) { benchAppend(b, 1) }

// BenchmarkCursorScanFloor is the floor of any replay: walking the events
// bucket of a bbolt file without decoding anything.
func BenchmarkCursorScanFloor(b *testing.B) {
	path := benchLog(b, 1_000_000)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("events")).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				n++
			}
			return nil
		})
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadAll decodes every event of a 1 M-event log, from a fresh open.
func BenchmarkReadAll(b *testing.B) {
	path := benchLog(b, 1_000_000)
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, err := range l.ReadAll(context.Background(), 0) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		l.Close()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

var benchLogs = map[int]string{}

// benchLog builds (once per process) a log of n events over 2,000 units:
// registrations then declarations, with a comment now and then.
func benchLog(b *testing.B, n int) string {
	b.Helper()
	if p, ok := benchLogs[n]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "dispo-bench")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "events.db")
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const units = 2000
	batch := make([]domain.AppendRequest, 0, 1000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := l.AppendBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := 0; i < n; i++ {
		u := i % units
		var e domain.Event
		switch {
		case i < units:
			e = domain.UnitRegistered{Unit: domain.Unit{ID: fmt.Sprintf("u%04d", u), FINESS: "770000001",
				Establishment: "EG", Department: domain.IleDeFrance[u%8], Type: domain.DialysisTypes[u%5], Name: "Centre Lourd"}}
		case i%50 == 0:
			e = domain.CommentSet{Text: "1 place le 11/03 à 10h"}
		default:
			e = domain.AvailabilityDeclared{Available: i % 5, Installed: 24, ClosedPlaces: i % 3}
		}
		batch = append(batch, domain.AppendRequest{Stream: domain.UnitStream(fmt.Sprintf("u%04d", u)),
			Expected: domain.AnyRevision, Events: []domain.Envelope{eventlogtest.Env(e)}})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	runtime.GC()
	benchLogs[n] = path
	return path
}

// BenchmarkOpen opens a 1 M-event log for writing and closes it: after a
// clean stop (the freelist is read) and after a crash (every page is
// walked by the checks, then by bbolt rebuilding the freelist). The floor
// beside it, from the same run, is a cursor scan of the events bucket.
func BenchmarkOpen(b *testing.B) {
	path := benchLog(b, 1_000_000)
	crashed := filepath.Join(filepath.Dir(path), "crashed.db")
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Append(context.Background(), "unit-crash", domain.AnyRevision, eventlogtest.Declarations(1)); err != nil {
		b.Fatal(err)
	}
	image, err := os.ReadFile(path) // what a kill -9 leaves: synced, not closed
	if err != nil {
		b.Fatal(err)
	}
	l.Close()
	defer os.Remove(crashed)
	scan := func() time.Duration {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		start := time.Now()
		db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("events")).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
			}
			return nil
		})
		return time.Since(start)
	}
	for _, tc := range []struct {
		name  string
		path  string
		reset func()
	}{
		{"clean", path, func() {}},
		{"crashed", crashed, func() {
			if err := os.WriteFile(crashed, image, 0o600); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var total, floor time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				tc.reset()
				floor += scan()
				b.StartTimer()
				start := time.Now()
				l, err := boltlog.Open(tc.path, boltlog.Options{})
				if err != nil {
					b.Fatal(err)
				}
				l.Close()
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "open-ms")
			b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "floor-scan-ms")
			b.ReportMetric(float64(total)/float64(floor), "x-floor")
		})
	}
}
