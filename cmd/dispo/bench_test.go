package main

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
	"dispo/domain"
	"dispo/projections"

	bolt "go.etcd.io/bbolt"
)

const (
	benchEvents = 1_000_000
	benchUnits  = 2_000
)

// benchLog returns a log of benchEvents events over benchUnits units from
// the fixture generator (built once per machine in the temp dir).
func benchLog(b *testing.B) string {
	b.Helper()
	cfg := fixturegen.DefaultIleDeFrance()
	cfg.Units, cfg.Events = benchUnits, benchEvents
	path, err := fixturegen.CachedLog(context.Background(), cfg, os.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return path
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkReplay1M: a fresh open and a replay of 1 M events through every
// projection, decoding included. Goal >= 1,000,000 events/s. Beside it, in
// the same run, the floor: bbolt's cursor walking the same keys, decoding
// nothing.
func BenchmarkReplay1M(b *testing.B) {
	path := benchLog(b)
	floor := scanRate(b, path)
	var a *projections.Availability
	var n int
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		a = projections.NewAvailability()
		if n, err = replay(context.Background(), l, a, time.Time{}, func(int) {}); err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
	rate := float64(n*b.N) / time.Since(start).Seconds()
	b.StopTimer()
	// The projections' footprint: the heap with them minus the heap without.
	units := len(a.Units())
	with := heapInUse()
	runtime.KeepAlive(a)
	a = nil
	heap := float64(with) - float64(heapInUse())
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(floor, "floor-scan-events/s")
	b.ReportMetric(rate/floor, "ratio-to-floor")
	b.ReportMetric(heap/(1<<20), "projection-heap-MiB")
	b.ReportMetric(heap/float64(units), "bytes/unit")
}

// scanRate walks the events bucket three times and keeps the fastest:
// the floor is a warm page cache, as the replay gets.
func scanRate(b *testing.B, path string) float64 {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	best := 0.0
	for range 3 {
		start, n := time.Now(), 0
		db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("events")).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				n += len(v) & 1
				n++
			}
			return nil
		})
		best = max(best, float64(benchEvents)/time.Since(start).Seconds())
	}
	return best
}

// BenchmarkReplayJSON1M is the alternative measured against the binary
// records: the same events decoded from their JSONL form (as a log storing
// JSON would) and folded. "jsonl" is the strict interchange decoder (key
// checks, UTF-8 checks); "payload" decodes only the event payloads with
// encoding/json (domain.DecodeEvent), as a log with a binary header and a
// JSON body would.
func BenchmarkReplayJSON1M(b *testing.B) {
	path := benchLog(b)
	l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	var lines, payloads [][]byte
	var envs []domain.Envelope
	for env, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			b.Fatal(err)
		}
		line, err := jsonl.Marshal(&env)
		if err != nil {
			b.Fatal(err)
		}
		payload, err := domain.EncodeEvent(env.Event)
		if err != nil {
			b.Fatal(err)
		}
		lines, payloads, envs = append(lines, line), append(payloads, payload), append(envs, env)
	}
	l.Close()
	b.Run("jsonl", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			a := projections.NewAvailability()
			for _, line := range lines {
				env, err := jsonl.Unmarshal(line)
				if err != nil {
					b.Fatal(err)
				}
				a.Apply(&env)
			}
		}
		b.ReportMetric(float64(len(lines)*b.N)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("payload", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			a := projections.NewAvailability()
			for j := range envs {
				ev, err := domain.DecodeEvent(envs[j].Type(), 1, payloads[j])
				if err != nil {
					b.Fatal(err)
				}
				env := envs[j]
				env.Event = ev
				a.Apply(&env)
			}
		}
		b.ReportMetric(float64(len(envs)*b.N)/time.Since(start).Seconds(), "events/s")
	})
}
