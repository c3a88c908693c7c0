package esdblog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// Options tune a Log. The zero value is a usable default.
type Options struct {
	// Prefix names the EventStoreDB stream of dispo stream s: Prefix + s. It
	// is also the $all filter every replica counts positions with, so it is
	// part of the stored data: never change it on an existing database.
	// Letters, digits, '-', '_' and '.' only (default "dispo-").
	Prefix string
	// Dir is where the index checkpoint file is kept (created if missing).
	// Empty: no file, and every Open indexes $all from its start.
	Dir string
	// CallTimeout bounds every call (an append, a stream read), retries
	// included, within the caller's context (default 5s). It also bounds each
	// attempt to open a subscription.
	CallTimeout time.Duration
	// MaxRetries bounds the retries of a call after transient failures
	// (default 6); the call then fails with an *UnavailableError.
	MaxRetries int
	// RetryBackoff is the first pause between retries, doubled after each up
	// to MaxBackoff (defaults 25ms and 1s).
	RetryBackoff, MaxBackoff time.Duration
	// RecentIDs is how many of the newest event ids the index remembers
	// (default 32768, about 60 bytes each): retries of appends among them are
	// answered without a round trip, and appends reusing one of them in
	// another stream are refused. Older ids are left to EventStoreDB's own
	// idempotence, which does not look at other streams.
	RecentIDs int
	// CheckpointInterval is how often the checkpoint file gets the index's
	// new blocks, and is synced (default 2s). Close writes it too.
	CheckpointInterval time.Duration
	// Logger receives reconnections, dropped subscriptions and the client's
	// own messages (nil: discarded).
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Prefix == "" {
		o.Prefix = "dispo-"
	}
	if len(o.Prefix) > 100 {
		return domain.Errorf(domain.EInvalid, "esdblog: prefix longer than 100 bytes")
	}
	for i := 0; i < len(o.Prefix); i++ {
		c := o.Prefix[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return domain.Errorf(domain.EInvalid, "esdblog: invalid prefix %q: letters, digits, '-', '_' and '.' only", o.Prefix)
		}
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 5 * time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 6
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 25 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Second
	}
	if o.RecentIDs <= 0 {
		o.RecentIDs = 1 << 15
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Log is dispo's event log on EventStoreDB (or KurrentDB). It is safe for
// concurrent use. See the package documentation for the mapping.
type Log struct {
	client *esdb.Client
	opts   Options
	idx    *index

	base   context.Context // ends at Close: subscriptions and calls in flight
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	inflight  int               // client calls running in their goroutine
	abandoned map[*op]time.Time // of those, the ones whose caller gave up, and when
	indexErr  error             // the indexer's last failure to follow $all

	// Set by Open before the goroutines start.
	openEnd  *allPos         // end of $all when Open looked (nil: unknown or empty)
	allEmpty bool            // $all was empty when Open looked
	ckpt     *checkpointFile // nil without Dir
	loaded   uint64          // positions loaded from the checkpoint

	caughtUp  chan struct{} // closed when the indexer first reached the end of $all
	caughtSet sync.Once
	indexDone chan struct{} // the indexer ended
	ckptDone  chan struct{} // the checkpointer ended
	ckptEpoch uint64        // the index epoch the file was written for (checkpointer's, then Close's)
}

var _ domain.UnitLog = (*Log)(nil)

// Open connects to the EventStoreDB named by connString ("esdb://host:2113?tls=false",
// "esdb+discover://cluster.example:2113", with the client's TLS settings:
// tls, tlsVerifyCert, tlsCAFile, userCertFile, userKeyFile...), loads the
// index checkpoint from opts.Dir, and returns once the index has caught up
// with $all (bounded by ctx). A malformed connection string is EInvalid; a
// server that cannot be reached before ctx ends is an *UnavailableError.
func Open(ctx context.Context, connString string, opts Options) (*Log, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	cfg, err := esdb.ParseConnectionString(connString)
	if err != nil {
		return nil, domain.Errorf(domain.EInvalid, "esdblog: connection string: %v", err)
	}
	// The client's connection goroutine exits for good once discovery runs
	// out of attempts, and calls queued behind it then wait forever: keep it
	// rediscovering, and bound every call ourselves.
	cfg.MaxDiscoverAttempts = math.MaxInt32
	logger := opts.Logger
	cfg.Logger = func(level esdb.LogLevel, format string, args ...any) {
		lv := slog.LevelDebug
		switch level {
		case esdb.LogWarn:
			lv = slog.LevelWarn
		case esdb.LogError:
			lv = slog.LevelInfo // the client logs every failed call as an error; we report what matters
		}
		logger.Log(context.Background(), lv, "esdb client: "+fmt.Sprintf(format, args...))
	}
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, domain.Errorf(domain.EInvalid, "esdblog: %v", err)
	}
	base, cancel := context.WithCancel(context.Background())
	l := &Log{
		client: client, opts: opts, idx: newIndex(opts.RecentIDs),
		base: base, cancel: cancel,
		abandoned: make(map[*op]time.Time),
		caughtUp:  make(chan struct{}),
		indexDone: make(chan struct{}),
		ckptDone:  make(chan struct{}),
	}
	if opts.Dir != "" {
		path := checkpointPath(opts.Dir, opts.Prefix)
		blocks, valid, err := readCheckpoint(path, opts.Prefix)
		if err == nil {
			l.ckpt, err = openCheckpoint(path, opts.Prefix, valid, len(blocks))
		}
		if err != nil {
			l.abort()
			return nil, err
		}
		l.idx.load(blocks)
		l.loaded = uint64(len(blocks)) * blockSize
	}
	// Where $all ends now: the index has caught up once it passes it (for
	// servers that do not send CaughtUp). Unknown if this read fails.
	end, err := l.endOfAll(ctx)
	var unavailable *UnavailableError
	switch {
	case err == nil:
		l.openEnd, l.allEmpty = end, end == nil
	case errors.As(err, &unavailable):
		l.abort()
		return nil, err
	case ctx.Err() != nil:
		l.abort()
		return nil, &UnavailableError{Op: "open", Err: err}
	default:
		opts.Logger.Warn("esdblog: cannot read the end of $all; waiting for the server's caught-up message", "err", err)
	}
	go l.runIndex()
	if l.ckpt != nil {
		go l.runCheckpoints()
	} else {
		close(l.ckptDone)
	}
	select {
	case <-l.caughtUp:
	case <-ctx.Done():
		l.mu.Lock()
		err := l.indexErr
		l.mu.Unlock()
		l.Close()
		if err == nil {
			err = ctx.Err()
		}
		if permanent(err) {
			return nil, fmt.Errorf("esdblog: open: subscribing to $all: %w", err)
		}
		return nil, &UnavailableError{Op: "open: catching up with $all", Err: err}
	}
	if err := l.idx.err(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// abort undoes a failed Open before any goroutine started.
func (l *Log) abort() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	if l.ckpt != nil {
		l.ckpt.close()
	}
	l.releaseClient()
}

// endOfAll returns the $all position of the last event of the database
// (nil if it is empty).
func (l *Log) endOfAll(ctx context.Context) (*allPos, error) {
	return call(l, ctx, "read the end of $all", func(ctx context.Context, c *esdb.Client) (*allPos, error) {
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		ev, err := rs.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, err
		}
		if e := ev.OriginalEvent(); e != nil {
			p := posOf(e.Position)
			return &p, nil
		}
		return nil, nil
	})
}

// Head returns the position of the last event this replica has indexed (0
// for an empty log). After an Append returns, Head is at least its last
// position; events appended by other replicas count once indexed here.
func (l *Log) Head(ctx context.Context) (uint64, error) {
	if l.isClosed() {
		return 0, ErrClosed
	}
	if err := l.idx.err(); err != nil {
		return 0, err
	}
	h, _, _ := l.idx.state()
	return h, nil
}

// Close stops the indexer and the subscriptions, writes the checkpoint, and
// closes the connection. Calls in flight end with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	<-l.indexDone
	<-l.ckptDone
	var err error
	if l.ckpt != nil {
		err = errors.Join(l.flushCheckpoint(), l.ckpt.close())
	}
	l.releaseClient()
	return err
}

// releaseClient closes the client once no call uses it. Closing it while a
// call waits on its connection goroutine (rediscovering a server that is
// down) would make that call panic (a send on a closed channel): if calls
// are still stuck after a grace period, the client is left to the process's
// end.
func (l *Log) releaseClient() {
	deadline := time.Now().Add(2 * time.Second)
	for {
		l.mu.Lock()
		inflight, stuck := l.inflight, len(l.abandoned)
		l.mu.Unlock()
		switch {
		case inflight == 0:
			l.client.Close()
			return
		case inflight == stuck || time.Now().After(deadline):
			l.opts.Logger.Warn("esdblog: calls still waiting for the event store at close; leaving the client open", "calls", inflight)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *Log) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// An op is one call to the client, run in a goroutine of its own so that the
// caller can give up on it: the client ignores contexts while it waits for
// its connection goroutine, which blocks as long as it rediscovers a server
// that is down.
type op struct{ finished bool } // guarded by Log.mu

// stallAfter is how long a call may run on after its caller gave up before
// the client counts as stuck reconnecting.
const stallAfter = 200 * time.Millisecond

func (l *Log) enter() (*op, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	now := time.Now()
	for _, at := range l.abandoned {
		if now.Sub(at) > stallAfter {
			return nil, errStalled
		}
	}
	l.inflight++
	return &op{}, nil
}

func (l *Log) exit(o *op) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o.finished = true
	delete(l.abandoned, o)
	l.inflight--
}

func (l *Log) abandon(o *op) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !o.finished {
		l.abandoned[o] = time.Now()
	}
}

type outcome[T any] struct {
	v   T
	err error
}

// do runs fn once in its own goroutine with a context that ends with ctx or
// at Close. If ctx ends first, do returns at once and fn is left to finish
// on its own (its context ended: it writes nothing after that).
func do[T any](l *Log, ctx context.Context, fn func(context.Context, *esdb.Client) (T, error)) (T, error) {
	var zero T
	o, err := l.enter()
	if err != nil {
		return zero, err
	}
	actx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.base, cancel)
	done := make(chan outcome[T], 1)
	go func() {
		defer l.exit(o)
		defer func() {
			if r := recover(); r != nil {
				done <- outcome[T]{err: fmt.Errorf("esdblog: EventStoreDB client panicked: %v", r)}
			}
		}()
		v, err := fn(actx, l.client)
		done <- outcome[T]{v, err}
	}()
	select {
	case r := <-done:
		stop()
		cancel()
		return r.v, r.err
	case <-actx.Done():
		stop()
		cancel()
		select {
		case r := <-done:
			return r.v, r.err
		default:
		}
		l.abandon(o)
		if l.base.Err() != nil {
			return zero, ErrClosed
		}
		return zero, ctx.Err()
	}
}

// call runs fn until it succeeds or fails for good, retrying transient
// failures with backoff, within ctx and the CallTimeout. A transient failure
// that outlasts them is an *UnavailableError; if ctx itself was cancelled,
// its error is returned.
func call[T any](l *Log, ctx context.Context, what string, fn func(context.Context, *esdb.Client) (T, error)) (T, error) {
	var zero T
	cctx, cancel := context.WithTimeout(ctx, l.opts.CallTimeout)
	defer cancel()
	backoff := l.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		v, err := do(l, cctx, fn)
		if err == nil {
			return v, nil
		}
		switch {
		case errors.Is(err, ErrClosed) || l.isClosed():
			return zero, ErrClosed
		case errors.Is(ctx.Err(), context.Canceled):
			return zero, ctx.Err()
		case cctx.Err() != nil:
			return zero, &UnavailableError{Op: what, Err: err}
		case !transient(err):
			return zero, err
		case attempt >= l.opts.MaxRetries:
			return zero, &UnavailableError{Op: what, Err: err}
		}
		if !l.sleep(cctx, backoff) {
			if errors.Is(ctx.Err(), context.Canceled) {
				return zero, ctx.Err()
			}
			if l.isClosed() {
				return zero, ErrClosed
			}
			return zero, &UnavailableError{Op: what, Err: err}
		}
		backoff = min(2*backoff, l.opts.MaxBackoff)
	}
}

// sleep waits d, or less if ctx ends or the log closes (then false).
func (l *Log) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-l.base.Done():
		return false
	}
}
