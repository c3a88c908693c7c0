package boltlog_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"
)

const crashChildEnv = "DISPO_BOLTLOG_CRASH_CHILD"

// TestCrashKeepsAcknowledgedEvents kills a process that is appending, at a
// moment of the test's choosing, three times over the same file: every append
// it heard succeed must be there after, at the position it was told, and
// the log must open, gapless, and go on.
func TestCrashKeepsAcknowledgedEvents(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "events.db")
	acked := map[uint64]string{} // position -> stream/revision
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedEvents$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() && n < 1500+round*700 {
			var pos uint64
			var where string
			if _, err := fmt.Sscanf(sc.Text(), "ack %d %s", &pos, &where); err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			acked[pos] = where
			n++
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if n == 0 {
			t.Fatal("child acknowledged nothing")
		}

		l, err := boltlog.Open(path, boltlog.Options{})
		if err != nil {
			t.Fatalf("round %d: open after kill: %v", round, err)
		}
		stored := map[uint64]string{}
		var last uint64
		for env, err := range l.ReadAll(context.Background(), 0) {
			if err != nil {
				t.Fatalf("round %d: read after kill: %v", round, err)
			}
			if env.Position != last+1 {
				t.Fatalf("round %d: position %d follows %d", round, env.Position, last)
			}
			last = env.Position
			stored[env.Position] = fmt.Sprintf("%s/%d", env.Stream, env.Revision)
		}
		for pos, where := range acked {
			if stored[pos] != where {
				t.Fatalf("round %d: acknowledged %s at position %d, log has %q", round, where, pos, stored[pos])
			}
		}
		if _, err := l.Append(context.Background(), "after-crash", domain.AnyRevision, eventlogtest.Declarations(1)); err != nil {
			t.Fatalf("round %d: append after kill: %v", round, err)
		}
		l.Close()
		t.Logf("round %d: %d acknowledged, %d stored", round, len(acked), len(stored))
	}
}

// crashChild appends from 8 goroutines until killed, printing each success.
func crashChild(path string) {
	l, err := boltlog.Open(path, boltlog.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("crash-%d-%d", os.Getpid(), g)
			for rev := 0; ; rev++ {
				res, err := l.Append(context.Background(), stream, domain.Exact(int64(rev)-1), eventlogtest.Declarations(1+rev%3))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				for i := uint64(0); i <= res.LastPosition-res.FirstPosition; i++ {
					fmt.Fprintf(w, "ack %d %s/%d\n", res.FirstPosition+i, stream, res.Revision-int64(res.LastPosition-res.FirstPosition-i))
				}
				w.Flush()
				mu.Unlock()
				rev += int(res.LastPosition - res.FirstPosition)
			}
		}()
	}
	wg.Wait()
}
