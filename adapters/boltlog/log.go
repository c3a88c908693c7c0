package boltlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"dispo/domain"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket and key names: part of the format, do not change.
var (
	bucketMeta   = []byte("meta")
	bucketEvents = []byte("events")
	bucketHeads  = []byte("heads")
	bucketIDs    = []byte("ids")
	keyFormat    = []byte("format")
	keyHeadsAt   = []byte("heads_at")
	keyClosed    = []byte("closed")           // set by Close, removed by the first commit after an open
	formatValue  = []byte("dispo-eventlog/2") // 2: records carry the hash chain
)

// Errors by phase.
var (
	// ErrNotEventLog: the file is a bbolt database, but not a dispo event log.
	ErrNotEventLog = errors.New("boltlog: not a dispo event log")
	// ErrDamaged: the file is not a readable bbolt database (foreign, truncated, corrupt).
	ErrDamaged = errors.New("boltlog: damaged or foreign file")
	// ErrLocked: another process has the log open.
	ErrLocked = errors.New("boltlog: log is in use by another process")
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("boltlog: log closed")
)

// Options tune a Log. The zero value is the durable default.
type Options struct {
	// ReadOnly opens the file shared, for export and replay beside nothing
	// that writes. Appends fail.
	ReadOnly bool
	// LockTimeout bounds the wait for another process's lock (default 1s).
	LockTimeout time.Duration
	// MaxBatchEvents bounds how many events one group commit carries
	// (default 4096): beyond it, latency grows with no gain in throughput.
	MaxBatchEvents int
}

// Log is the embedded event log: one bbolt file.
type Log struct {
	db   *bolt.DB
	opts Options

	head    atomic.Uint64 // last committed position
	commits atomic.Uint64
	// stopped: why appends stopped, if they did: a read or the writer met
	// damage, or a commit failed after bbolt may have written its meta page.
	// Close then writes nothing, leaving the file for inspection or a restart.
	stopped atomic.Pointer[error]
	// marked: the file carries the clean-close mark (keyClosed), which the
	// next commit removes. The committer's own.
	marked bool
	heads  heads
	// The committer's own: streams whose head moved since the last
	// checkpoint, and the position that checkpoint covers.
	dirty        map[string]struct{}
	checkpointed uint64

	mu     sync.Mutex
	notify chan struct{} // closed and replaced at each commit: wakes subscribers
	closed bool

	reqs     chan *appendReq
	quit     chan struct{}
	finished chan struct{}
}

// Open opens or creates the log at path. A file that is not a dispo event
// log, or is damaged, is refused with an error wrapping ErrNotEventLog or
// ErrDamaged; nothing is written to it.
//
// The file is locked first (shared for reading, exclusive for writing) and
// checked before bbolt maps it: after a clean stop (Close marks the file,
// the next commit removes the mark) the meta page, the freelist and the
// skeleton of the trees (walkPages); after an unclean one, or on a
// file without the mark, every page (checkPages).
func Open(path string, opts Options) (l *Log, err error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 4096
	}
	fi, statErr := os.Stat(path)
	switch {
	case statErr == nil && fi.IsDir():
		return nil, fmt.Errorf("boltlog: %s is a directory", path)
	case statErr == nil && fi.Size() == 0:
		// A log is created whole (create), so an empty file is not one dispo
		// began: taking it for a new log would write over whatever it was meant to be.
		return nil, fmt.Errorf("%w: %s: empty file (0 bytes): not an event log; remove it to start a new log", ErrDamaged, path)
	case errors.Is(statErr, os.ErrNotExist) && opts.ReadOnly:
		return nil, fmt.Errorf("boltlog: %s: no event log there", path)
	case errors.Is(statErr, os.ErrNotExist):
		if err := create(path); err != nil {
			return nil, err
		}
	case statErr != nil:
		return nil, fmt.Errorf("boltlog: %w", statErr)
	}
	f, err := lockFile(path, opts.ReadOnly, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	handed := false
	defer func() {
		if !handed {
			f.Close()
		}
	}()
	if err := precheck(f, path); err != nil {
		return nil, err
	}
	// The checks above make bbolt's assertions hold; this is the backstop
	// for what they cannot see.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			l, err = nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.LockTimeout,
		ReadOnly: opts.ReadOnly,
		// The file checked and locked above is the one bbolt maps: its
		// flock on the same open file converts our lock, with no window
		// for another process between the check and the open.
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { handed = true; return f, nil },
		// The freelist is synced with every commit (one page, for an
		// append-only log): bbolt otherwise rebuilds it, at an open and at
		// every rolled-back commit, by walking every page in a goroutine
		// that a damaged page kills the process from.
		NoFreelistSync: false,
		FreelistType:   bolt.FreelistMapType,
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	case err != nil:
		return nil, fmt.Errorf("boltlog: open %s: %w", path, err)
	}
	l = &Log{db: db, opts: opts, notify: make(chan struct{}), quit: make(chan struct{}), finished: make(chan struct{}),
		dirty: make(map[string]struct{})}
	if err := l.init(); err != nil {
		db.Close()
		return nil, err
	}
	if !opts.ReadOnly {
		l.reqs = make(chan *appendReq, 1024)
		go l.commitLoop()
	} else {
		close(l.finished)
	}
	return l, nil
}

// precheck runs the page checks Open needs before bbolt maps the file f
// (locked): the skeleton after a clean stop, every page otherwise, since
// a crash is when a page is most likely to be half written, and a log
// written before the freelist was synced has bbolt walk them all at open.
func precheck(f *os.File, path string) error {
	m, err := cheapCheck(f)
	if err == nil {
		err = walkPages(f, m, m.freelist != noFreelist && cleanMark(f, m))
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	return nil
}

// lockFile opens path and takes its lock, shared for reading, exclusive
// for writing, waiting up to timeout for another process to let go.
func lockFile(path string, readOnly bool, timeout time.Duration) (*os.File, error) {
	flag, how := os.O_RDWR, syscall.LOCK_EX
	if readOnly {
		flag, how = os.O_RDONLY, syscall.LOCK_SH
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("boltlog: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return f, nil
		case !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR):
			f.Close()
			return nil, fmt.Errorf("boltlog: lock %s: %w", path, err)
		case time.Now().After(deadline):
			f.Close()
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// create makes a new, empty log at path, whole or not at all: it is built
// in a temporary file, synced, then linked into place (which fails if
// another process created path meanwhile), so a crash at first start
// leaves either no log or a complete one, never an empty file.
func create(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("boltlog: %w", err)
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	db, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("boltlog: create %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keyFormat, formatValue); err != nil {
			return err
		}
		if err := meta.Put(keyClosed, []byte{1}); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketEvents, bucketHeads, bucketIDs} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(name, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("boltlog: create %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (l *Log) init() error {
	check := func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || !bytes.Equal(meta.Get(keyFormat), formatValue) {
			return fmt.Errorf("%w: %s", ErrNotEventLog, l.db.Path())
		}
		events := tx.Bucket(bucketEvents)
		if events == nil || tx.Bucket(bucketHeads) == nil || tx.Bucket(bucketIDs) == nil {
			return fmt.Errorf("%w: %s: missing buckets", ErrDamaged, l.db.Path())
		}
		seq := events.Sequence()
		k, v := events.Cursor().Last()
		switch {
		case seq == 0 && k == nil:
		case len(k) != 8 || binary.BigEndian.Uint64(k) != seq:
			return fmt.Errorf("%w: %s: last event key does not match the head position %d", ErrDamaged, l.db.Path(), seq)
		default:
			var last domain.Envelope
			if err := newDecoder().decode(seq, v, &last); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrDamaged, l.db.Path(), err)
			}
		}
		m, at, folded, err := loadHeads(tx)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrDamaged, l.db.Path(), err)
		}
		l.heads.m, l.checkpointed, l.dirty = m, at, folded
		l.head.Store(seq)
		l.marked = meta.Get(keyClosed) != nil
		return nil
	}
	return l.view(check)
}

// Stats are counters since Open.
type Stats struct {
	Commits uint64 // write transactions synced: appends share them under load
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats { return Stats{Commits: l.commits.Load()} }

// Path returns the file the log lives in.
func (l *Log) Path() string { return l.db.Path() }

// Close stops accepting appends, lets the commit in flight finish, wakes
// subscribers and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.notify)
	l.mu.Unlock()
	close(l.quit)
	<-l.finished
	var err error
	if !l.opts.ReadOnly && l.stopped.Load() == nil {
		// The last commit writes the checkpoint, sparing the next Open the
		// rescan of what followed the last one, and the clean-close mark,
		// sparing it the walk of every page (see Open). A log whose appends
		// stopped is left as it is.
		err = l.update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketMeta).Put(keyClosed, []byte{1}); err != nil {
				return err
			}
			if len(l.dirty) == 0 {
				return nil
			}
			return checkpoint(tx, &l.heads, nil, l.dirty)
		})
	}
	return errors.Join(err, l.db.Close())
}

// changed returns a channel closed at the next commit (or at Close).
func (l *Log) changed() (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify, l.closed
}

func (l *Log) publish(head uint64) {
	l.head.Store(head)
	l.mu.Lock()
	if !l.closed {
		close(l.notify)
		l.notify = make(chan struct{})
	}
	l.mu.Unlock()
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// Backup writes a consistent copy of the whole file to w while appends go
// on (a read transaction sees one instant of the log). The copy opens as a
// log like the original.
func (l *Log) Backup(w io.Writer) (int64, error) {
	var n int64
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// view runs fn in a read transaction, guarded.
func (l *Log) view(fn func(*bolt.Tx) error) error { return l.guarded(l.db.View, fn) }

// guarded runs fn in a transaction of run (View or Update). Damage the
// checks at open cannot see (a record, a page reached only now) makes bbolt
// fail an assertion or the mapping fault: both become ErrDamaged, and the
// log stops writing.
func (l *Log) guarded(run func(func(*bolt.Tx) error) error, fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrDamaged, l.db.Path(), r)
		}
		err = l.damage(err)
	}()
	return run(fn)
}

// damage names the file in an error that says it is damaged, and stops
// appends: a damaged log is left for inspection.
func (l *Log) damage(err error) error {
	if errors.Is(err, errCorrupt) && !errors.Is(err, ErrDamaged) {
		err = fmt.Errorf("%w: %s: %w", ErrDamaged, l.db.Path(), err)
	}
	if errors.Is(err, ErrDamaged) {
		l.stop(fmt.Errorf("the file was found damaged (%w); run dispo verify", err))
	}
	return err
}

// stop stops appends for good (until the log is opened again), keeping
// the first reason.
func (l *Log) stop(why error) { l.stopped.CompareAndSwap(nil, &why) }

// StoppedError is the refusal of an append once appends stopped. It is
// Unavailable: the request was fine and may succeed after a restart.
type StoppedError struct{ Cause error }

func (e *StoppedError) Error() string     { return "boltlog: appends stopped: " + e.Cause.Error() }
func (e *StoppedError) Unwrap() error     { return e.Cause }
func (e *StoppedError) Unavailable() bool { return true }
