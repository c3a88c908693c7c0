package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile queries do not grow the server: 1,000 requests with distinct
// 1 MB query strings and 10,000 small distinct ones, over every query
// route, leave a real dispo serve's resident memory within 64 MB of where
// it started. Answers were cached by raw query string: 400 such requests
// took it from 56 to 695 MB.
func TestHostileQueriesLeaveMemoryBounded(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector multiplies memory five to ten times: the RSS bound is checked by make test, without it")
	}
	r := newCrashRig(t, 11)
	r.serveArg = []string{"serve", "--data", r.data, "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--seal-every", "0"}
	c := r.start()
	defer c.kill()
	r.register(c)
	unit := r.clients[0].units[0]
	routes := []string{"/api/v1/units", "/api/v1/units/" + unit, "/api/v1/units/" + unit + "/history", "/api/v1/matrix",
		"/api/v1/departments/77/rows", "/api/v1/freshness", "/api/v1/freshness/overdue", "/api/v1/trends/weekly"}
	get := func(url string) int {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+r.admin)
		res, err := r.http.Do(req)
		if err != nil {
			t.Errorf("GET %.80s: %v", url, err) // workers call it: no Fatal
			return 0
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	// Warm up every route once, as traffic would, before the baseline.
	for _, p := range routes {
		if code := get(c.base + p); code != 200 {
			t.Fatalf("GET %s: %d", p, code)
		}
	}
	before := rss(t, c.cmd.Process.Pid)
	const workers = 4
	var wg sync.WaitGroup
	statuses := make([]map[int]int, workers)
	junkStatuses := make([]map[int]int, workers)
	start := time.Now()
	for w := range workers {
		statuses[w], junkStatuses[w] = map[int]int{}, map[int]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			junk := []byte(strings.Repeat("a", 1_000_000))
			for i := w; i < 11_000; i += workers {
				p := routes[i%len(routes)]
				var q string
				if i < 1000 {
					// A distinct megabyte: a parameter no route takes.
					copy(junk, strconv.Itoa(i))
					q = "junk=" + string(junk)
				} else {
					// Distinct and well formed: each a new cache key.
					switch at := time.Now().Add(-time.Duration(i) * time.Second).UTC().Format(time.RFC3339); p {
					case "/api/v1/units":
						q = fmt.Sprintf("establishment=%09d&department=77", 770000000+i)
					case "/api/v1/trends/weekly":
						q = "from=" + time.Now().AddDate(0, 0, -i).Format(time.DateOnly)
					default:
						q = "at=" + at
					}
				}
				code := get(c.base + p + "?" + q)
				statuses[w][code]++
				if i < 1000 {
					junkStatuses[w][code]++
				}
			}
		}()
	}
	wg.Wait()
	after := rss(t, c.cmd.Process.Pid)
	all := map[int]int{}
	for _, m := range statuses {
		for k, v := range m {
			all[k] += v
		}
	}
	t.Logf("11,000 hostile queries in %s: statuses %v; RSS %d MB before, %d MB after", time.Since(start).Round(time.Millisecond), all, before>>20, after>>20)
	if all[200] == 0 {
		t.Fatalf("no well-formed query was answered: %v", all)
	}
	// The megabyte queries must reach the routes (and be refused there),
	// not stop at the header limit: else they would test nothing.
	junk := 0
	for _, m := range junkStatuses {
		junk += m[http.StatusBadRequest]
	}
	if junk != 1000 {
		t.Fatalf("%d of the 1,000 megabyte queries answered 400 unknown_parameter: %v", junk, junkStatuses)
	}
	if after > before+64<<20 {
		t.Fatalf("RSS grew from %d MB to %d MB", before>>20, after>>20)
	}
}

// rss is the resident set of process pid, in bytes.
func rss(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
