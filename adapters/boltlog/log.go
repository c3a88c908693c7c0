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
	"time"

	"dispo/domain"
	bolt "go.etcd.io/bbolt"
)

// Bucket and key names: part of the format, do not change.
var (
	bucketMeta   = []byte("meta")
	bucketEvents = []byte("events")
	bucketHeads  = []byte("heads")
	bucketIDs    = []byte("ids")
	keyFormat    = []byte("format")
	keyHeadsAt   = []byte("heads_at")
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
	// damaged: a read met a damaged page or record. The log then takes no
	// more appends and Close writes nothing, leaving the file for inspection.
	damaged atomic.Bool
	heads   heads
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
// Every open checks the meta page, the file's length, the synced freelist
// and the branch pages (see checkSkeleton); an open after an unclean stop
// (no freelist synced by Close) walks every page first, because bbolt is
// about to walk them itself to rebuild the freelist, in a goroutine that
// would crash the process on a damaged page.
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
	if err := precheck(path); err != nil {
		return nil, err
	}
	// The checks above make bbolt's assertions hold; this is the backstop
	// for what they cannot see.
	defer func() {
		if r := recover(); r != nil {
			l, err = nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        opts.LockTimeout,
		ReadOnly:       opts.ReadOnly,
		NoFreelistSync: true, // append-only: rebuilding the freelist at open is cheaper than syncing it per commit
		FreelistType:   bolt.FreelistMapType,
	})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrVersionMismatch), errors.Is(err, bolt.ErrChecksum):
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

// precheck runs the page checks Open needs before bbolt maps the file:
// after a clean stop the skeleton (checkSkeleton), after an unclean one
// every page, since bbolt is about to walk them all to rebuild the
// freelist, and its freelist no longer tells a stale page from a live one.
// Another process may hold the file: reading it is harmless.
func precheck(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("boltlog: %w", err)
	}
	defer f.Close()
	m, err := cheapCheck(f)
	switch {
	case err != nil:
	case m.cleanlyClosed():
		_, err = checkSkeleton(f)
	default:
		_, err = checkPages(f)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	return nil
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
	db, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: false, FreelistType: bolt.FreelistMapType})
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
	if !l.opts.ReadOnly && !l.damaged.Load() {
		// The last commit writes the checkpoint, sparing the next Open the
		// rescan of what followed the last one, and the freelist: that marks
		// the stop as clean, and the next Open reads the freelist instead of
		// walking every page (see Open). A damaged log is left as it is.
		l.db.NoFreelistSync = false
		err = l.update(func(tx *bolt.Tx) error {
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

// view runs fn in a read transaction. Damage the checks at open cannot see
// (a record, a page reached only now) makes bbolt fail an assertion or the
// mapping fault: both become ErrDamaged, and the log stops writing.
func (l *Log) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrDamaged, l.db.Path(), r)
		}
		if errors.Is(err, errCorrupt) && !errors.Is(err, ErrDamaged) {
			err = fmt.Errorf("%w: %s: %w", ErrDamaged, l.db.Path(), err)
		}
		if errors.Is(err, ErrDamaged) {
			l.damaged.Store(true)
		}
	}()
	return l.db.View(fn)
}
