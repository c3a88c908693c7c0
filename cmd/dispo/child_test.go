package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary run as dispo itself, so that the crash
// trials can kill a real `dispo serve` process without building another
// binary: a kill -9 of the test process would end the test with it.
const childEnv = "DISPO_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// child is a `dispo serve` process started by a test.
type child struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

var servingURL = regexp.MustCompile(` on (http://\S+)`)

// startChild runs dispo with args, its standard error appended to logPath,
// and waits until it prints the address it serves.
func startChild(logPath string, args ...string) (*child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s dispo %q\n", time.Now().UTC().Format(time.RFC3339Nano), args)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		told := false
		for sc.Scan() {
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil && !told {
				found <- m[1]
				told = true
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	select {
	case c.base = <-found:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("dispo %q exited before serving: %v (see %s)", args, c.err, logPath)
	case <-time.After(60 * time.Second):
		c.kill()
		return nil, fmt.Errorf("dispo %q did not serve within 60 s (see %s)", args, logPath)
	}
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// stop asks for a graceful shutdown and waits for it; it kills the process
// if it takes longer than wait.
func (c *child) stop(wait time.Duration) error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return c.err
	case <-time.After(wait):
		c.kill()
		return errors.New("did not stop in time after SIGTERM: killed")
	}
}
