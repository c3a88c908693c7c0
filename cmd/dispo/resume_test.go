package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startStop runs serve on data until it is ready, then stops it, and
// returns what it logged.
func startStop(t *testing.T, data string) string {
	t.Helper()
	var out, errOut syncBuffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Now: time.Now, Getenv: func(string) string { return "" }}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, env, serveConfig{data: data, addr: "127.0.0.1:0", shutdown: 5 * time.Second, ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve ended: %v\n%s", err, errOut.String())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	return errOut.String()
}

// A restart resumes the projections from the snapshot the last run saved,
// and refuses a damaged snapshot or one of another log.
func TestServeResumesProjections(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	if logs := startStop(t, data); strings.Contains(logs, "resumed") {
		t.Fatalf("first start resumed from nothing:\n%s", logs)
	}
	snap := filepath.Join(data, "projections.snap")
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no snapshot saved at shutdown: %v", err)
	}
	if logs := startStop(t, data); !strings.Contains(logs, "projections resumed from their snapshot") || !strings.Contains(logs, "position=14") {
		t.Fatalf("second start did not resume at position 14:\n%s", logs)
	}

	if err := os.WriteFile(snap, []byte("not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if logs := startStop(t, data); !strings.Contains(logs, "snapshot refused; replaying") {
		t.Fatalf("a damaged snapshot was not refused:\n%s", logs)
	}

	// This log's snapshot beside another log of the same length whose last
	// event differs.
	good, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	export := mustDispo(t, "export", "--data", data)
	if !strings.Contains(export, `"recorded_at":"2025-03-06T17:00:00Z"`) {
		t.Fatal("the seed's last event, its seal, is not where the test expects it")
	}
	edited := filepath.Join(t.TempDir(), "edited.jsonl")
	// Without its hashes, which the import would check: it chains the
	// edited events afresh.
	export = regexp.MustCompile(`,"hash":"[0-9a-f]{64}"(,"prev_hash":"[0-9a-f]{64}")?,"data":`).ReplaceAllString(export, `,"data":`)
	if err := os.WriteFile(edited, []byte(strings.Replace(export, `"recorded_at":"2025-03-06T17:00:00Z"`, `"recorded_at":"2025-03-06T17:01:00Z"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	mustDispo(t, "import", "--data", other, edited)
	if err := os.WriteFile(filepath.Join(other, "projections.snap"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if logs := startStop(t, other); !strings.Contains(logs, "not of this log") {
		t.Fatalf("a snapshot of another log was used:\n%s", logs)
	}
}

// A kill while the projections were being saved leaves their temporary
// file behind; each crash left one more. The next start removes them.
func TestServeRemovesSnapshotsLeftHalfWritten(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	left := filepath.Join(data, ".projections-123456")
	if err := os.WriteFile(left, []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	startStop(t, data)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("the half-written snapshot is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "projections.snap")); err != nil {
		t.Fatalf("the snapshot itself: %v", err)
	}
}
