package standin

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	featuresapi "github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Options configure a stand-in. The zero value is ready to use.
type Options struct {
	// Addr is the TCP address to listen on, an IPv4 host and a port (the
	// client's connection string takes no IPv6 literal). Default
	// "127.0.0.1:0": an ephemeral port, kept by Restart.
	Addr string

	// Now stamps each append's events (their "created" metadata, which the
	// client truncates to 100 ns). Default time.Now.
	Now func() time.Time

	// ServerVersion is the version GetSupportedMethods reports, three
	// dot-separated numbers (the client parses them). Default "24.10.0",
	// the protocol level imitated (caught-up messages exist since 23.10).
	ServerVersion string
}

// Stats are counters since Start, over every Restart.
type Stats struct {
	Connections       int    // TCP connections accepted
	Appends           int    // appends that wrote events
	IdempotentAppends int    // appends answered from events already written
	Conflicts         int    // appends answered WrongExpectedVersion
	InjectedFailures  int    // appends failed by FailNextAppends or LoseNextAppendReplies
	Reads             int    // reads (Read calls with a count)
	Subscriptions     int    // subscriptions confirmed
	OpenSubscriptions int    // subscriptions running now
	Events            int    // events in the log
	LastPosition      uint64 // $all position of the newest event, 0 when there is none
}

// Server is a running (or stopped) stand-in. Its methods are safe for
// concurrent use.
type Server struct {
	now     func() time.Time
	version string
	store   *store

	mu      sync.Mutex
	addr    string // fixed by the first listen
	grpc    *grpc.Server
	running bool
	closed  bool
	subs    map[*subscription]struct{}

	failAppends int // under mu
	loseReplies int // under mu

	connections   atomic.Int64
	bytesReceived atomic.Int64
	appends       atomic.Int64
	idempotent    atomic.Int64
	conflicts     atomic.Int64
	injected      atomic.Int64
	reads         atomic.Int64
	subscriptions atomic.Int64
}

// Start listens on opts.Addr and serves until Stop or Close.
func Start(opts Options) (*Server, error) {
	s := &Server{
		now:     opts.Now,
		version: opts.ServerVersion,
		store:   newStore(),
		addr:    opts.Addr,
		subs:    make(map[*subscription]struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.version == "" {
		s.version = "24.10.0"
	}
	if s.addr == "" {
		s.addr = "127.0.0.1:0"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.listenLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the host:port the stand-in listens on; it stays the same across
// Restart.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is the connection string for esdb.ParseConnectionString: a single node
// (no gossip discovery) without TLS.
func (s *Server) URL() string {
	return "esdb://" + s.Addr() + "?tls=false"
}

// Stop closes the listener and every connection at once, ending every call in
// flight, like a crash. The events stay in memory for Restart. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	g := s.grpc
	s.grpc = nil
	s.running = false
	s.mu.Unlock()
	if g != nil {
		// Returns once every handler has returned (WaitForHandlers).
		g.Stop()
	}
}

// Restart listens again on the same address with the same events, stopping
// the server first if it is running. It fails after Close, or when the
// address is taken.
func (s *Server) Restart() error {
	s.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("standin: restart after close")
	}
	if s.running {
		return nil // another Restart won
	}
	return s.listenLocked()
}

// Close stops the server for good.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Stop()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	all := s.store.snapshot()
	st := Stats{
		Connections:       int(s.connections.Load()),
		Appends:           int(s.appends.Load()),
		IdempotentAppends: int(s.idempotent.Load()),
		Conflicts:         int(s.conflicts.Load()),
		InjectedFailures:  int(s.injected.Load()),
		Reads:             int(s.reads.Load()),
		Subscriptions:     int(s.subscriptions.Load()),
		Events:            len(all),
	}
	if len(all) > 0 {
		st.LastPosition = all[len(all)-1].position
	}
	s.mu.Lock()
	st.OpenSubscriptions = len(s.subs)
	s.mu.Unlock()
	return st
}

// FailNextAppends makes the next n appends fail with Unavailable after
// reading their events and before writing anything.
func (s *Server) FailNextAppends(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAppends = n
}

// LoseNextAppendReplies makes the next n appends write their events (or
// find them already written) and then fail with Unavailable, as when the
// node commits and the reply is lost: the client's retry with the same event
// ids must then be answered as a replay.
func (s *Server) LoseNextAppendReplies(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseReplies = n
}

// DropSubscriptions ends every open subscription with Unavailable, the server
// staying up, and returns how many it ended.
func (s *Server) DropSubscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sub := range s.subs {
		if sub.drop() {
			n++
		}
	}
	return n
}

// takeAppendFault consumes one injected append fault: fail before writing,
// or lose the reply after.
func (s *Server) takeAppendFault() (failBefore, loseAfter bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAppends > 0 {
		s.failAppends--
		return true, false
	}
	if s.loseReplies > 0 {
		s.loseReplies--
		return false, true
	}
	return false, false
}

func (s *Server) addSub(sub *subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[sub] = struct{}{}
}

func (s *Server) removeSub(sub *subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, sub)
}

// listenLocked binds s.addr and serves on a new grpc.Server (a stopped one
// cannot serve again).
func (s *Server) listenLocked() error {
	var lis net.Listener
	var err error
	// The port was ours a moment ago; give the kernel a moment if it has
	// not let go of it yet.
	for deadline := time.Now().Add(2 * time.Second); ; {
		lis, err = net.Listen("tcp", s.addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("standin: listen: %w", err)
	}
	s.addr = lis.Addr().String()

	g := grpc.NewServer(
		// The client pings every 10 s (at least) even without calls in
		// flight; grpc-go's default policy (MinTime 5 min, no pings
		// without calls) answers a few such pings with GOAWAY
		// "too_many_pings". Accept pings at any rate.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             time.Millisecond,
			PermitWithoutStream: true,
		}),
		// The client accepts messages up to 17 MiB (a node's largest event).
		grpc.MaxRecvMsgSize(17<<20),
		grpc.MaxSendMsgSize(17<<20),
		// Stop returns once the handlers have: no handler outlives a Stop.
		grpc.WaitForHandlers(true),
	)
	api.RegisterStreamsServer(g, &streamsService{srv: s})
	featuresapi.RegisterServerFeaturesServer(g, &featuresService{version: s.version})
	s.grpc = g
	s.running = true
	go g.Serve(&countingListener{Listener: lis, srv: s}) //nolint:errcheck // Serve returns when Stop closes the listener.
	return nil
}

// countingListener counts accepted connections and the bytes read from them.
type countingListener struct {
	net.Listener
	srv *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.srv.connections.Add(1)
	return &countingConn{Conn: c, srv: l.srv}, nil
}

type countingConn struct {
	net.Conn
	srv *Server
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.srv.bytesReceived.Add(int64(n))
	return n, err
}
