// Package adminsock carries administration commands (`dispo users
// logout`, `unlock`...) to a running `dispo serve`: HTTP over a unix
// socket in the data directory.
//
// The socket, DATA/admin.sock, is created by the server with mode 0600 in
// a data directory of mode 0700: only the server's user (and root) can
// connect, so a request on it needs no other authentication. It is never
// reachable from the network. The server removes it when it stops; a file
// left by a server that was killed is replaced at the next start.
//
// # Protocol
//
// Plain HTTP/1.1. Each command is a route of the handler given to Start,
// versioned by its path ("POST /v1/users/{id}/logout"): later commands
// plug in as more routes of the same http.ServeMux. Answers are JSON
// (WriteJSON); refusals are application/problem+json with a stable "code"
// and a "detail" for people (WriteProblem), which Client.Post returns as a
// *domain.Error.
package adminsock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"dispo/domain"
)

// FileName is the socket's name in the data directory: part of the
// interface between dispo commands, do not change.
const FileName = "admin.sock"

// PathIn returns the socket's path in data directory dir.
func PathIn(dir string) string { return filepath.Join(dir, FileName) }

// maxPath is the longest socket path every unix accepts (sun_path is 108
// bytes on Linux, 104 on the BSDs and macOS, with its terminating NUL).
const maxPath = 103

// ErrNotRunning is returned by Client.Post when no server listens on the
// socket: it does not exist, or it is left over from a server that stopped.
var ErrNotRunning = errors.New("adminsock: no dispo server is running")

// Server serves administration commands on a unix socket.
type Server struct {
	path string
	srv  *http.Server
	done chan error
}

// Start listens on the unix socket at path with mode 0600 and serves h
// there until Close. It fails if another server answers on path, or if
// path exists and is not a socket.
func Start(path string, h http.Handler) (*Server, error) {
	if len(path) > maxPath {
		return nil, fmt.Errorf("adminsock: socket path %s is %d bytes long, more than a unix socket accepts (%d): use a shorter data directory", path, len(path), maxPath)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("adminsock: %w", err)
	}
	// The directory is the first barrier (dispo makes the data directory
	// 0700); the mode is the second, in case it is not.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("adminsock: %w", err)
	}
	s := &Server{path: path, done: make(chan error, 1),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// clearStale removes a socket file at path that no server answers on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("adminsock: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("adminsock: %s exists and is not a socket: remove it or move it away", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("adminsock: another dispo server answers on %s: is one already running on this data directory?", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("adminsock: %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("adminsock: removing the stale socket: %w", err)
	}
	return nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops serving, lets commands in progress finish (they are short)
// and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err // the listener removed the socket as it closed
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// WriteProblem answers a refusal: status, a stable code (domain's codes
// where they fit) and a detail for people.
func WriteProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{status, code, detail})
}

// Client sends commands to the server of a socket.
type Client struct {
	path string
	hc   *http.Client
}

// NewClient returns a client of the socket at path.
func NewClient(path string) *Client {
	return &Client{path: path, hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}}}
}

// Post sends the command at route (e.g. "/v1/users/alice/logout") and
// decodes its JSON answer into out (if not nil). Returns ErrNotRunning if
// no server listens on the socket, a *domain.Error for a refusal, and
// another error if the socket cannot be used (e.g. permission denied: run
// the command as the server's user).
func (c *Client) Post(ctx context.Context, route string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://dispo"+route, nil)
	if err != nil {
		return fmt.Errorf("adminsock: %w", err)
	}
	res, err := c.hc.Do(req)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return ErrNotRunning
	}
	if err != nil {
		return fmt.Errorf("adminsock: %s: %w", c.path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("adminsock: reading the answer: %w", err)
	}
	if res.StatusCode >= 300 {
		var p problem
		if json.Unmarshal(body, &p) != nil || p.Code == "" {
			return fmt.Errorf("adminsock: %s answered %s", route, res.Status)
		}
		return domain.Errorf(p.Code, "%s", p.Detail)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("adminsock: %s answered malformed JSON: %w", route, err)
	}
	return nil
}
