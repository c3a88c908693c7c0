package esdblog_test

// These benchmarks measure the CLIENT PATH's cost: the adapter, the
// EventStore-Client-Go client, gRPC over loopback TCP, and the in-memory
// stand-in. They say nothing of an EventStoreDB server's throughput or
// latency (no disk, no replication, no real storage engine): they tell what
// the adapter adds on top of the client, against a floor measured in the
// same run with the bare client doing the same work.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"dispo/adapters/esdblog"
	"dispo/adapters/esdblog/standin"
	"dispo/adapters/eventlogtest"
	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func benchClient(b *testing.B, srv *standin.Server) *esdb.Client {
	b.Helper()
	conf, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// run has appenders goroutines call fn n times in all, and returns the
// events/s and each call's latency.
func run(appenders, n int, fn func(w, i int) error) (float64, []time.Duration, error) {
	lat := make([][]time.Duration, appenders)
	errs := make(chan error, appenders)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < appenders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += appenders {
				t0 := time.Now()
				if err := fn(w, i); err != nil {
					errs <- err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	close(errs)
	return rate, slices.Concat(lat...), <-errs
}

// benchAppend: appenders goroutines append one event per call, each to its
// own stream, through the adapter; then the bare client does the same
// (same stand-in, same concurrency) for the floor.
func benchAppend(b *testing.B, appenders int) {
	srv := startStandin(b)
	l := mustOpen(b, srv.URL(), esdblog.Options{})
	evs := eventlogtest.Declarations(b.N)
	ctx := context.Background()
	b.ResetTimer()
	rate, lat, err := run(appenders, b.N, func(w, i int) error {
		_, err := l.Append(ctx, fmt.Sprintf("unit-bench-%d", w), domain.AnyRevision, evs[i:i+1])
		return err
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	c := benchClient(b, srv)
	data := []byte(`{"available":1,"installed":20,"closed":0}`)
	meta := []byte(`{"recorded_at":"2025-03-06T14:30:01.123456789Z","schema_version":1,"source":"api"}`)
	floor, _, err := run(appenders, b.N, func(w, i int) error {
		_, err := c.AppendToStream(ctx, fmt.Sprintf("floor-%d", w), esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}},
			esdb.EventData{EventID: uuid.New(), EventType: "availability.declared", ContentType: esdb.ContentTypeJson, Data: data, Metadata: meta})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(floor, "floor-client-events/s")
	b.ReportMetric(rate/floor, "of-floor")
}

// BenchmarkAppend64: 64 concurrent appenders, one event per append (client
// path cost, not a server's).
func BenchmarkAppend64(b *testing.B) { benchAppend(b, 64) }

// BenchmarkAppend1: one appender alone: the latency of one append (client
// path cost, not a server's).
func BenchmarkAppend1(b *testing.B) { benchAppend(b, 1) }

const catchUpEvents = 50_000

var catchUp struct {
	once sync.Once
	srv  *standin.Server
	err  error
}

// catchUpServer is a stand-in holding catchUpEvents events over 500 units,
// shared by the catch-up benchmarks of one process.
func catchUpServer(b *testing.B) *standin.Server {
	catchUp.once.Do(func() {
		srv, err := standin.Start(standin.Options{})
		if err != nil {
			catchUp.err = err
			return
		}
		ctx := context.Background()
		l, err := esdblog.Open(ctx, srv.URL(), esdblog.Options{CallTimeout: time.Minute})
		if err != nil {
			catchUp.err = err
			return
		}
		defer l.Close()
		const units, per = 500, catchUpEvents / 500
		var reqs []domain.AppendRequest
		for u := 0; u < units; u++ {
			evs := append([]domain.Envelope{registration(fmt.Sprintf("77-B-%03d", u))}, eventlogtest.Declarations(per-1)...)
			reqs = append(reqs, domain.AppendRequest{Stream: fmt.Sprintf("unit-77-B-%03d", u), Expected: domain.NoStream, Events: evs})
		}
		_, catchUp.err = l.AppendBatch(ctx, reqs)
		catchUp.srv = srv
	})
	if catchUp.err != nil {
		b.Fatal(catchUp.err)
	}
	return catchUp.srv
}

// BenchmarkCatchUp: ReadAll of 50,000 events, decoded, through the adapter,
// against the bare client's filtered subscription delivering the same
// events undecoded (client path cost, not a server's).
func BenchmarkCatchUp(b *testing.B) {
	srv := catchUpServer(b)
	l := mustOpen(b, srv.URL(), esdblog.Options{})
	ctx := context.Background()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, err := range l.ReadAll(ctx, 0) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	rate := float64(n) / b.Elapsed().Seconds()
	b.StopTimer()
	if n != b.N*catchUpEvents {
		b.Fatalf("read %d events, want %d", n, b.N*catchUpEvents)
	}
	c := benchClient(b, srv)
	start := time.Now()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := c.SubscribeToAll(sctx, esdb.SubscribeToAllOptions{From: esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"dispo-"}}})
	if err != nil {
		b.Fatal(err)
	}
	for got := 0; got < catchUpEvents; {
		se := sub.Recv()
		if se.SubscriptionDropped != nil {
			b.Fatal(se.SubscriptionDropped.Error)
		}
		if se.EventAppeared != nil {
			got++
		}
	}
	floor := catchUpEvents / time.Since(start).Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(floor, "floor-client-events/s")
	b.ReportMetric(rate/floor, "of-floor")
}

// BenchmarkOpenIndex: Open without a checkpoint indexes all 50,000 events
// of $all before it returns (client path cost, not a server's).
func BenchmarkOpenIndex(b *testing.B) {
	srv := catchUpServer(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := esdblog.Open(ctx, srv.URL(), esdblog.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if h, _ := l.Head(ctx); h != catchUpEvents {
			b.Fatalf("head %d, want %d", h, catchUpEvents)
		}
		l.Close()
	}
	b.ReportMetric(float64(b.N*catchUpEvents)/b.Elapsed().Seconds(), "events/s")
}
