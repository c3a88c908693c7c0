package boltlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
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
func Open(path string, opts Options) (l *Log, err error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 4096
	}
	fi, statErr := os.Stat(path)
	exists := statErr == nil && fi.Size() > 0
	if statErr == nil && fi.IsDir() {
		return nil, fmt.Errorf("boltlog: %s is a directory", path)
	}
	if opts.ReadOnly && !exists {
		return nil, fmt.Errorf("boltlog: %s: no event log there", path)
	}
	if exists {
		if err := sniff(path); err != nil {
			return nil, err
		}
	}
	// bbolt trusts its pages; a damaged file can make it panic rather than
	// fail. Opening is where damage is met first, so it must not crash us.
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
	if err := l.init(exists); err != nil {
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

// sniff checks, before bbolt maps the file, that it is long enough for the
// pages its newest valid meta page claims. bbolt trusts that claim: on a
// truncated file it touches pages past the end of the mapping, and the
// process dies of SIGBUS, which no recover can catch. The offsets below are
// bbolt's meta page layout (internal/common/meta.go, format version 2).
func sniff(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("boltlog: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("boltlog: %w", err)
	}
	const (
		pageHeader = 16
		magic      = 0xED0CDAED
		version    = 2
		metaLen    = 64
	)
	meta := func(off int64) (pageSize, pages, txid uint64, ok bool) {
		buf := make([]byte, pageHeader+metaLen)
		if _, err := f.ReadAt(buf, off); err != nil {
			return 0, 0, 0, false
		}
		m := buf[pageHeader:]
		ne := binary.NativeEndian
		h := fnv.New64a()
		h.Write(m[:56])
		if ne.Uint32(m) != magic || ne.Uint32(m[4:]) != version || ne.Uint64(m[56:]) != h.Sum64() {
			return 0, 0, 0, false
		}
		return uint64(ne.Uint32(m[8:])), ne.Uint64(m[40:]), ne.Uint64(m[48:]), true
	}
	var best struct{ pageSize, pages, txid uint64 }
	found := false
	consider := func(off int64) {
		if ps, pages, txid, ok := meta(off); ok && (!found || txid > best.txid) {
			best.pageSize, best.pages, best.txid, found = ps, pages, txid, true
		}
	}
	consider(0)
	for ps := int64(1024); ps <= 65536; ps *= 2 {
		consider(ps)
	}
	if !found {
		return fmt.Errorf("%w: %s: no valid bbolt meta page", ErrDamaged, path)
	}
	if need := best.pages * best.pageSize; best.pageSize == 0 || uint64(fi.Size()) < need {
		return fmt.Errorf("%w: %s: truncated: %d bytes, its meta page needs %d", ErrDamaged, path, fi.Size(), need)
	}
	return nil
}

func (l *Log) init(exists bool) error {
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
	if exists {
		return l.db.View(check)
	}
	if l.opts.ReadOnly {
		return fmt.Errorf("%w: %s", ErrNotEventLog, l.db.Path())
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyFormat); v == nil {
			if tx.Bucket(bucketEvents) != nil {
				return fmt.Errorf("%w: %s", ErrNotEventLog, l.db.Path())
			}
			if err := meta.Put(keyFormat, formatValue); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bucketEvents, bucketHeads, bucketIDs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return check(tx)
	})
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
	if !l.opts.ReadOnly && len(l.dirty) > 0 {
		// Spare the next Open the rescan of what followed the last checkpoint.
		err = l.db.Update(func(tx *bolt.Tx) error { return checkpoint(tx, &l.heads, nil, l.dirty) })
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
	err := l.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
