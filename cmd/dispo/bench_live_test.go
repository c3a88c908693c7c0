package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkLiveFanOut measures how long a declaration takes to reach the
// live pages: n clients hold the live stream of a display link open over
// TCP to a child `dispo serve` (on 127.0.0.1), a declaration is posted
// through the API, and each client notes when the stream tells the new
// position (event), then also fetches the page's main element as the live
// script does (page). Five rounds each; the latencies of every client of
// every round make the percentiles. The floor is the event with one
// client, in the same run.
func BenchmarkLiveFanOut(b *testing.B) {
	data := b.TempDir()
	mustDispoB(b, "", "import", "--data", data, fixtures+"seed-77.jsonl")
	mustDispoB(b, "une phrase de passe de banc d'essai\n", "users", "add", "resp", "--role", "responsable", "--establishment", "770110054", "--data", data, "--keep-password")
	mustDispoB(b, "une autre phrase de passe d'essai\n", "users", "add", "mur", "--role", "professionnel", "--data", data, "--keep-password")
	bearer := strings.TrimSpace(mustDispoB(b, "", "users", "token", "resp", "--data", data))
	link := strings.TrimSpace(mustDispoB(b, "", "users", "token", "mur", "--display", "--data", data))
	c, err := startChild(filepath.Join(data, "serve.log"), "serve", "--data", data, "--addr", "127.0.0.1:0", "--metrics-addr", "off")
	if err != nil {
		b.Fatal(err)
	}
	defer c.stop(10 * time.Second)

	available := 0
	declare := func() (uint64, time.Time) {
		available = 1 - available
		body := fmt.Sprintf(`{"available":%d,"installed":18}`, available)
		req, _ := http.NewRequest("POST", c.base+"/api/v1/units/77-EG-02/declarations", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		pos, err := strconv.ParseUint(res.Header.Get("X-Dispo-Position"), 10, 64)
		if res.StatusCode != 200 || err != nil {
			b.Fatalf("declaration: %d %v", res.StatusCode, err)
		}
		return pos, start
	}

	// refetch: each client then fetches the page's main element, as the
	// live script does, and the latency runs to the end of that answer.
	measure := func(clients, rounds int, refetch bool) []time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: clients}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		seen := make([]chan uint64, clients) // each client's positions, as they arrive
		var ready, done sync.WaitGroup
		var mu sync.Mutex
		var failed error
		for i := range clients {
			seen[i] = make(chan uint64, 64)
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				req, _ := http.NewRequestWithContext(ctx, "GET", c.base+link+"/flux", nil)
				res, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					ready.Done()
					return
				}
				defer res.Body.Close()
				sc := bufio.NewScanner(res.Body)
				first := true
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
						if first {
							ready.Done()
							first = false
							continue
						}
						p, err := strconv.ParseUint(v, 10, 64)
						if err != nil {
							continue
						}
						if refetch {
							req, _ := http.NewRequestWithContext(ctx, "GET", c.base+link+"/dialyse?departement=77", nil)
							req.Header.Set("X-Dispo-Partial", "1")
							req.Header.Set("Accept-Encoding", "gzip")
							res, err := client.Do(req)
							if err != nil || res.StatusCode != 200 {
								continue // the round then times out and says which client
							}
							io.Copy(io.Discard, res.Body)
							res.Body.Close()
						}
						seen[i] <- p
					}
				}
				close(seen[i])
			}()
		}
		ready.Wait()
		if failed != nil {
			b.Fatalf("%d streams: %v", clients, failed)
		}
		var lat []time.Duration
		for range rounds {
			pos, start := declare()
			for i := range clients {
				for {
					select {
					case p, ok := <-seen[i]:
						if !ok {
							b.Fatalf("client %d: the stream ended", i)
						}
						if p < pos {
							continue
						}
						lat = append(lat, time.Since(start))
					case <-ctx.Done():
						b.Fatalf("client %d never saw position %d", i, pos)
					}
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
		done.Wait()
		slices.Sort(lat)
		return lat
	}
	pct := func(l []time.Duration, p float64) time.Duration { return l[min(len(l)-1, int(p*float64(len(l))))] }

	for b.Loop() {
		floor := measure(1, 5, false)
		fan := measure(1000, 5, false)
		pages := measure(1000, 5, true)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(pct(fan, 0.5)), "event-p50-ms")
		b.ReportMetric(ms(pct(fan, 0.99)), "event-p99-ms")
		b.ReportMetric(ms(fan[len(fan)-1]), "event-max-ms")
		b.ReportMetric(ms(pct(floor, 0.99)), "one-client-p99-ms")
		b.ReportMetric(float64(pct(fan, 0.99))/float64(pct(floor, 0.99)), "p99/one-client")
		b.ReportMetric(ms(pct(pages, 0.5)), "page-p50-ms")
		b.ReportMetric(ms(pct(pages, 0.99)), "page-p99-ms")
	}
}

// mustDispoB runs dispo in process for a benchmark.
func mustDispoB(b *testing.B, stdin string, args ...string) string {
	b.Helper()
	var out, errOut strings.Builder
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Now: time.Now, Getenv: func(string) string { return "" }}
	if code := env.run(context.Background(), args); code != 0 {
		b.Fatalf("dispo %q: exit %d\n%s", args, code, errOut.String())
	}
	return out.String()
}
