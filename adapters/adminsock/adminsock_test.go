package adminsock_test

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dispo/adapters/adminsock"
	"dispo/domain"
)

// shortDir is a directory whose socket path fits the unix limit whatever
// the test's name and $TMPDIR.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "as")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func echo() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/echo/{x}", func(w http.ResponseWriter, r *http.Request) {
		adminsock.WriteJSON(w, http.StatusOK, map[string]string{"x": r.PathValue("x")})
	})
	mux.HandleFunc("POST /v1/refuse", func(w http.ResponseWriter, r *http.Request) {
		adminsock.WriteProblem(w, http.StatusBadRequest, domain.EInvalid, "non")
	})
	return mux
}

func TestServeAndPost(t *testing.T) {
	path := adminsock.PathIn(shortDir(t))
	s, err := adminsock.Start(path, echo())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v: want a socket of mode 0600", fi.Mode(), err)
	}
	c := adminsock.NewClient(path)
	var out map[string]string
	if err := c.Post(t.Context(), "/v1/echo/alice", &out); err != nil || out["x"] != "alice" {
		t.Fatalf("Post = %v, %v", out, err)
	}
	err = c.Post(t.Context(), "/v1/refuse", nil)
	if domain.ErrorCode(err) != domain.EInvalid || domain.ErrorMessage(err) != "non" {
		t.Fatalf("a refusal: %v", err)
	}
	if err := c.Post(t.Context(), "/v1/nothing-here", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("an unknown command: %v", err)
	}
	// A second server on the same socket is refused, and the first goes on.
	if _, err := adminsock.Start(path, echo()); err == nil || !strings.Contains(err.Error(), "another dispo server answers") {
		t.Fatalf("second Start: %v", err)
	}
	if err := c.Post(t.Context(), "/v1/echo/bob", &out); err != nil {
		t.Fatalf("after the second Start: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the socket is left after Close: %v", err)
	}
	if err := c.Post(t.Context(), "/v1/echo/x", nil); err != adminsock.ErrNotRunning {
		t.Fatalf("after Close: %v, want ErrNotRunning", err)
	}
}

// A socket left by a killed server: clients see no server, the next Start
// replaces it.
func TestStaleSocket(t *testing.T) {
	path := adminsock.PathIn(shortDir(t))
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays, nobody listens: as after kill -9
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	if err := adminsock.NewClient(path).Post(t.Context(), "/v1/echo/x", nil); err != adminsock.ErrNotRunning {
		t.Fatalf("on a stale socket: %v, want ErrNotRunning", err)
	}
	s, err := adminsock.Start(path, echo())
	if err != nil {
		t.Fatalf("Start over a stale socket: %v", err)
	}
	defer s.Close()
	if err := adminsock.NewClient(path).Post(t.Context(), "/v1/echo/x", nil); err != nil {
		t.Fatal(err)
	}
}

func TestStartRefusals(t *testing.T) {
	dir := shortDir(t)
	file := filepath.Join(dir, "admin.sock")
	os.WriteFile(file, []byte("precious"), 0o600)
	if _, err := adminsock.Start(file, echo()); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("on a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "precious" {
		t.Fatal("Start changed a file that is not a socket")
	}
	long := filepath.Join(dir, strings.Repeat("d", 120), "admin.sock")
	if _, err := adminsock.Start(long, echo()); err == nil || !strings.Contains(err.Error(), "shorter data directory") {
		t.Fatalf("a long path: %v", err)
	}
	if err := adminsock.NewClient(filepath.Join(dir, "absent.sock")).Post(t.Context(), "/v1/x", nil); err != adminsock.ErrNotRunning {
		t.Fatalf("no socket: %v, want ErrNotRunning", err)
	}
}
