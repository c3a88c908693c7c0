package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Damaged logs through the commands people run: verify and export fail
// with an error naming the file, exit non-zero, never say "intact" and
// leave the file as it was; serve either refuses to start, naming the
// file, or starts and does not claim readiness past the damage. The
// reproductions of the reliability issue (a zeroed page, a flipped byte)
// panicked here.
func TestDamagedLogThroughTheCommands(t *testing.T) {
	base := t.TempDir()
	mustDispo(t, "import", "--data", base, fixtures+"idf-dialyse.jsonl")
	clean, err := os.ReadFile(logFile(base))
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	const page = 4096
	pages := len(clean) / page
	for trial := range 12 {
		data := bytes.Clone(clean)
		var how string
		switch trial % 3 {
		case 0:
			p := 2 + rng.IntN(pages-2)
			clear(data[p*page : (p+1)*page])
			how = fmt.Sprintf("page %d zeroed", p)
		case 1:
			off := 2*page + rng.IntN(len(data)-2*page)
			data[off] ^= 0x5a
			how = fmt.Sprintf("byte %d flipped", off)
		default:
			n := rng.IntN(len(data))
			data = data[:n]
			how = fmt.Sprintf("cut at %d", n)
		}
		dir := t.TempDir()
		path := logFile(dir)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"verify", "--data", dir}, {"export", "--data", dir, "--out", filepath.Join(dir, "out.jsonl")}} {
			code, out, errOut := dispo(t, "", args...)
			after, _ := os.ReadFile(path)
			switch {
			case code == 0:
				// A byte in free space changes nothing the log holds.
				if args[0] == "verify" && !strings.Contains(out, "intact") {
					t.Errorf("%s: dispo %s: exit 0 without intact:\n%s", how, args[0], out)
				}
			case strings.Contains(out, "intact"):
				t.Errorf("%s: dispo %s said intact, then failed:\n%s%s", how, args[0], out, errOut)
			case !strings.Contains(errOut, path):
				t.Errorf("%s: dispo %s: the error does not name the file:\n%s", how, args[0], errOut)
			}
			if !bytes.Equal(after, data) {
				t.Errorf("%s: dispo %s changed the file", how, args[0])
			}
		}
		if trial%4 == 0 { // serve: a process, for the crash the issue saw was not recoverable
			serveDamaged(t, how, dir)
		}
	}
}

func serveDamaged(t *testing.T, how, dir string) {
	logPath := filepath.Join(dir, "serve.log")
	c, err := startChild(logPath, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "off")
	if err != nil {
		b, _ := os.ReadFile(logPath)
		if !strings.Contains(string(b), logFile(dir)) || strings.Contains(string(b), "panic") {
			t.Errorf("%s: serve refused the log without naming it, or panicked:\n%s", how, b)
		}
		return
	}
	defer func() {
		err := c.stop(10 * time.Second)
		b, _ := os.ReadFile(logPath)
		if err != nil || strings.Contains(string(b), "panic") || strings.Contains(string(b), "fatal error") {
			t.Errorf("%s: serve did not stop cleanly (%v):\n%s", how, err, b)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/readyz", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break // the damage is where the fold does not read, or nowhere
			}
		}
		select {
		case <-c.exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s: serve died:\n%s", how, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
