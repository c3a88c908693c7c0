package boltlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt trusts its pages: a page that is not what its parent says makes it
// fail an assertion (a panic), and the walk that rebuilds the freelist at a
// read-write open runs in a goroutine whose panic no recover can catch. So
// a file is checked here, with plain reads and no bbolt code, before bbolt
// is let near it. The layout is bbolt's (format version 2, see
// go.etcd.io/bbolt/internal/common: page.go, meta.go, bucket.go); the
// checks are the invariants bbolt's own Tx.Check states, plus the bounds
// it takes for granted.

const (
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elemSize       = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHdrSize  = 16 // root pgid u64, sequence u64
	metaSize       = 64
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	noFreelist     = ^uint64(0)
	maxTreeDepth   = 64
	// maxPageBytes bounds what one page may span with its overflow pages:
	// a record is at most a few hundred KiB, so more is damage, and reading
	// it would allocate what the damage says.
	maxPageBytes = 16 << 20

	branchFlag   = 0x01
	leafFlag     = 0x02
	metaFlag     = 0x04
	freelistFlag = 0x10
	bucketLeaf   = 0x01
)

// ne is bbolt's byte order: the machine's own.
var ne = binary.NativeEndian

// boltMeta is the part of a meta page the checks need.
type boltMeta struct {
	pageSize uint64
	root     uint64 // root bucket's root page
	freelist uint64 // noFreelist when not synced
	hwm      uint64 // pages in use: the high water mark
	txid     uint64
}

// readMeta returns the meta page bbolt will use, found as bbolt finds it
// (DB.getPageSize, DB.meta): the page size from meta page 0, or else from
// the first valid meta page at 1 KiB, 2 KiB...; then the newer valid one of
// pages 0 and 1 at that size.
func readMeta(f io.ReaderAt, size int64) (boltMeta, error) {
	read := func(off int64) (boltMeta, bool) {
		buf := make([]byte, pageHeaderSize+metaSize)
		if _, err := f.ReadAt(buf, off); err != nil {
			return boltMeta{}, false
		}
		m := buf[pageHeaderSize:]
		h := fnv.New64a()
		h.Write(m[:56])
		if ne.Uint32(m) != boltMagic || ne.Uint32(m[4:]) != boltVersion || ne.Uint64(m[56:]) != h.Sum64() {
			return boltMeta{}, false
		}
		return boltMeta{pageSize: uint64(ne.Uint32(m[8:])), root: ne.Uint64(m[16:]), freelist: ne.Uint64(m[32:]),
			hwm: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, true
	}
	var ps uint64
	if m, ok := read(0); ok {
		ps = m.pageSize
	} else {
		for pos := int64(1024); pos <= 1024<<14 && pos < size-1024; pos <<= 1 {
			if m, ok := read(pos); ok {
				ps = m.pageSize
				break
			}
		}
	}
	var best boltMeta
	found := false
	if ps >= 512 && ps <= 1<<16 && ps&(ps-1) == 0 {
		for _, off := range []int64{0, int64(ps)} {
			if m, ok := read(off); ok && m.pageSize == ps && (!found || m.txid > best.txid) {
				best, found = m, true
			}
		}
	}
	switch {
	case !found:
		return best, errors.New("no valid bbolt meta page")
	case best.pageSize < 512 || best.pageSize > 1<<16 || best.pageSize&(best.pageSize-1) != 0:
		return best, fmt.Errorf("meta page: page size %d", best.pageSize)
	case best.hwm < 4 || best.hwm > uint64(size)/best.pageSize:
		return best, fmt.Errorf("truncated: %d bytes, its meta page needs %d pages of %d", size, best.hwm, best.pageSize)
	case best.root < 2 || best.root >= best.hwm:
		return best, fmt.Errorf("meta page: root page %d out of range [2, %d)", best.root, best.hwm)
	case best.freelist != noFreelist && (best.freelist < 2 || best.freelist >= best.hwm):
		return best, fmt.Errorf("meta page: freelist page %d out of range [2, %d)", best.freelist, best.hwm)
	}
	return best, nil
}

// cheapCheck is what every open checks: the meta page, the file's length
// and, when the freelist is synced, the freelist page bbolt will read.
func cheapCheck(f *os.File) (boltMeta, error) {
	fi, err := f.Stat()
	if err != nil {
		return boltMeta{}, err
	}
	m, err := readMeta(f, fi.Size())
	if err != nil {
		return m, err
	}
	w := &pageWalk{f: f, meta: m, seen: make([]uint64, (m.hwm+63)/64)}
	if m.freelist != noFreelist {
		if _, err := w.freelist(); err != nil {
			return m, err
		}
	}
	return m, nil
}

// cleanMark reports whether the log's meta bucket holds the clean-close
// mark (keyClosed). It reads the root bucket's page and the meta bucket
// (inline, or its own leaf); anything unexpected is "no": the full walk
// then says what is wrong.
func cleanMark(f io.ReaderAt, m boltMeta) bool {
	w := &pageWalk{f: f, meta: m}
	leafElements := func(id uint64, p []byte) []element {
		if len(p) < pageHeaderSize || ne.Uint16(p[8:]) != leafFlag {
			return nil
		}
		es, err := elements(id, p, int(ne.Uint16(p[10:])), true)
		if err != nil {
			return nil
		}
		return es
	}
	root, err := w.page(m.root)
	if err != nil {
		return false
	}
	for _, e := range leafElements(m.root, bytes.Clone(root)) {
		if !e.bucket || !bytes.Equal(e.key, bucketMeta) || len(e.value) < bucketHdrSize {
			continue
		}
		var inner []element
		if id := ne.Uint64(e.value); id == 0 {
			inner = leafElements(m.root, e.value[bucketHdrSize:])
		} else if p, err := w.page(id); err == nil {
			inner = leafElements(id, p)
		}
		for _, ie := range inner {
			if !ie.bucket && bytes.Equal(ie.key, keyClosed) {
				return true
			}
		}
	}
	return false
}

// checkPages walks every page reachable from the newest meta page of f:
// each where its parent says, of the type it must be, its elements inside
// it and in key order, no page twice, none freed and reachable, and (with
// a synced freelist) every page either reachable or free.
func checkPages(f *os.File) (boltMeta, error) {
	m, err := cheapCheck(f)
	if err == nil {
		err = walkPages(f, m, false)
	}
	return m, err
}

// walkPages walks a file whose meta page m passed cheapCheck: every page
// (checkPages), or, at every open of a cleanly closed file, the skeleton:
// the same checks, but of the branch pages in full, of the leaves of the
// top-level bucket (which name the others), and of every other leaf's
// header only: a leaf where its parent says, its overflow pages claimed,
// none of them free. What the skeleton guards against is what no recover
// can catch: a damaged child pointer that makes a tree a cycle, which
// sends bbolt's cursor round forever, and a freelist that would hand out
// a live page. Damage inside a leaf is met when it is read, as an
// assertion or a fault that the reads and the writer turn into
// ErrDamaged. It reads 16 bytes of most pages instead of all of them.
func walkPages(f *os.File, m boltMeta, skeleton bool) error {
	// bbolt's own check reads both meta pages, whichever it opened with.
	for id := uint64(0); id < 2; id++ {
		var hdr [pageHeaderSize]byte
		if _, err := f.ReadAt(hdr[:], int64(id*m.pageSize)); err != nil || ne.Uint64(hdr[:]) != id || ne.Uint16(hdr[8:]) != metaFlag {
			return fmt.Errorf("meta page %d: bad header", id)
		}
	}
	w := &pageWalk{f: f, meta: m, seen: make([]uint64, (m.hwm+63)/64), skeleton: skeleton}
	w.mark(0)
	w.mark(1)
	var free map[uint64]bool
	var err error
	if m.freelist != noFreelist {
		if free, err = w.freelist(); err != nil {
			return err
		}
	}
	if err := w.tree(m.root, nil, nil, 0, -1, true); err != nil {
		return err
	}
	for id := uint64(2); id < m.hwm; id++ {
		switch {
		case w.marked(id) && free[id]:
			return fmt.Errorf("page %d: in use and free", id)
		case m.freelist != noFreelist && !skeleton && !w.marked(id) && !free[id]:
			return fmt.Errorf("page %d: neither in use nor free", id)
		}
	}
	return nil
}

type pageWalk struct {
	f        io.ReaderAt
	meta     boltMeta
	seen     []uint64 // bit per page: referenced once already
	buf      []byte
	skeleton bool // see walkPages
}

func (w *pageWalk) marked(id uint64) bool { return w.seen[id/64]&(1<<(id%64)) != 0 }
func (w *pageWalk) mark(id uint64)        { w.seen[id/64] |= 1 << (id % 64) }

// page reads page id with its overflow pages, checking that it is where it
// says it is and inside the pages in use. The slice is reused.
func (w *pageWalk) page(id uint64) ([]byte, error) {
	ps := w.meta.pageSize
	if id < 2 || id >= w.meta.hwm {
		return nil, fmt.Errorf("page %d out of range [2, %d)", id, w.meta.hwm)
	}
	var hdr [pageHeaderSize]byte
	if _, err := w.f.ReadAt(hdr[:], int64(id*ps)); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	if got := ne.Uint64(hdr[:]); got != id {
		return nil, fmt.Errorf("page %d: its header says page %d", id, got)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if overflow >= w.meta.hwm-id {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the %d pages in use", id, overflow, w.meta.hwm)
	}
	n := (overflow + 1) * ps
	if n > maxPageBytes {
		return nil, fmt.Errorf("page %d: %d overflow pages, more than any record needs", id, overflow)
	}
	if uint64(cap(w.buf)) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	if _, err := w.f.ReadAt(b, int64(id*ps)); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	if !bytes.Equal(b[:pageHeaderSize], hdr[:]) {
		return nil, fmt.Errorf("page %d changed while it was read", id)
	}
	return b, nil
}

// claim marks the pages of a page read at id, refusing a second reference.
func (w *pageWalk) claim(id uint64, p []byte) error {
	for i := uint64(0); i <= uint64(ne.Uint32(p[12:])); i++ {
		if w.marked(id + i) {
			return fmt.Errorf("page %d: referenced twice", id+i)
		}
		w.mark(id + i)
	}
	return nil
}

// freelist checks the synced freelist page and returns the free pages.
func (w *pageWalk) freelist() (map[uint64]bool, error) {
	id := w.meta.freelist
	p, err := w.page(id)
	if err != nil {
		return nil, fmt.Errorf("freelist: %v", err)
	}
	if f := ne.Uint16(p[8:]); f != freelistFlag {
		return nil, fmt.Errorf("freelist page %d: flags %#x", id, f)
	}
	if err := w.claim(id, p); err != nil {
		return nil, err
	}
	count, at := uint64(ne.Uint16(p[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF {
		count, at = ne.Uint64(p[pageHeaderSize:]), at+8
	}
	if count > (uint64(len(p))-at)/8 {
		return nil, fmt.Errorf("freelist page %d: %d ids do not fit in it", id, count)
	}
	free := make(map[uint64]bool, count)
	for i := uint64(0); i < count; i++ {
		f := ne.Uint64(p[at+8*i:])
		if f < 2 || f >= w.meta.hwm || free[f] {
			return nil, fmt.Errorf("freelist page %d: free page %d out of range or listed twice", id, f)
		}
		free[f] = true
	}
	return free, nil
}

// tree checks the subtree at page id: keys in [lo, hi). bucketRoot: id is
// a bucket's root page (may be an empty leaf). leafAt, if not -1, is the
// depth of the tree's leaves, whose headers only are read (the skeleton walk).
func (w *pageWalk) tree(id uint64, lo, hi []byte, depth, leafAt int, bucketRoot bool) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("page %d: tree deeper than %d", id, maxTreeDepth)
	}
	if depth == leafAt {
		// Only the header: it is a leaf, where its parent says, and its
		// overflow pages are claimed, so the freelist cannot hand them out.
		if id < 2 || id >= w.meta.hwm {
			return fmt.Errorf("page %d out of range [2, %d)", id, w.meta.hwm)
		}
		var hdr [pageHeaderSize]byte
		if _, err := w.f.ReadAt(hdr[:], int64(id*w.meta.pageSize)); err != nil {
			return fmt.Errorf("page %d: %v", id, err)
		}
		overflow := uint64(ne.Uint32(hdr[12:]))
		switch {
		case ne.Uint64(hdr[:]) != id:
			return fmt.Errorf("page %d: its header says page %d", id, ne.Uint64(hdr[:]))
		case ne.Uint16(hdr[8:]) != leafFlag:
			return fmt.Errorf("page %d: flags %#x where a leaf page is expected", id, ne.Uint16(hdr[8:]))
		case overflow >= w.meta.hwm-id || (overflow+1)*w.meta.pageSize > maxPageBytes:
			return fmt.Errorf("page %d: %d overflow pages", id, overflow)
		}
		return w.claim(id, hdr[:])
	}
	p, err := w.page(id)
	if err != nil {
		return err
	}
	if err := w.claim(id, p); err != nil {
		return err
	}
	p = bytes.Clone(p) // w.buf is reused by the pages below
	flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	switch {
	case flags == branchFlag:
		if count == 0 {
			return fmt.Errorf("page %d: empty branch", id)
		}
		keys, err := elements(id, p, count, false)
		if err != nil {
			return err
		}
		if err := ordered(id, keys, lo, hi); err != nil {
			return err
		}
		for i, k := range keys {
			next := hi
			if i+1 < len(keys) {
				next = keys[i+1].key
			}
			if err := w.tree(k.child, k.key, next, depth+1, leafAt, false); err != nil {
				return err
			}
		}
		return nil
	case flags == leafFlag && leafAt >= 0:
		// bbolt's trees are balanced: a leaf above the leaf level is damage.
		return fmt.Errorf("page %d: a leaf above the leaf level %d", id, leafAt)
	case flags == leafFlag:
		if count == 0 && !bucketRoot {
			return fmt.Errorf("page %d: empty leaf below a branch", id)
		}
		return w.leaf(id, p, count, lo, hi, depth)
	default:
		return fmt.Errorf("page %d: flags %#x where a branch or leaf page is expected", id, flags)
	}
}

type element struct {
	key, value []byte
	child      uint64
	bucket     bool
}

// elements decodes the count elements of page p, each inside the page.
func elements(id uint64, p []byte, count int, leaf bool) ([]element, error) {
	if pageHeaderSize+count*elemSize > len(p) {
		return nil, fmt.Errorf("page %d: %d elements do not fit in it", id, count)
	}
	out := make([]element, count)
	for i := range out {
		at := pageHeaderSize + i*elemSize
		e := p[at : at+elemSize]
		var pos, ksize, vsize uint64
		if leaf {
			pos, ksize, vsize = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
			out[i].bucket = ne.Uint32(e)&bucketLeaf != 0
		} else {
			pos, ksize = uint64(ne.Uint32(e)), uint64(ne.Uint32(e[4:]))
			out[i].child = ne.Uint64(e[8:])
		}
		start := uint64(at) + pos
		if ksize == 0 || start+ksize+vsize > uint64(len(p)) {
			return nil, fmt.Errorf("page %d: element %d lies outside the page", id, i)
		}
		out[i].key, out[i].value = p[start:start+ksize], p[start+ksize:start+ksize+vsize]
	}
	return out, nil
}

// ordered checks that the keys rise strictly and lie in [lo, hi).
func ordered(id uint64, es []element, lo, hi []byte) error {
	for i, e := range es {
		if i == 0 && lo != nil && bytes.Compare(e.key, lo) < 0 ||
			i > 0 && bytes.Compare(es[i-1].key, e.key) >= 0 ||
			hi != nil && bytes.Compare(e.key, hi) >= 0 {
			return fmt.Errorf("page %d: key %d out of order", id, i)
		}
	}
	return nil
}

func (w *pageWalk) leaf(id uint64, p []byte, count int, lo, hi []byte, depth int) error {
	es, err := elements(id, p, count, true)
	if err != nil {
		return err
	}
	if err := ordered(id, es, lo, hi); err != nil {
		return err
	}
	for i, e := range es {
		if !e.bucket {
			continue
		}
		if len(e.value) < bucketHdrSize {
			return fmt.Errorf("page %d: element %d: bucket header cut short", id, i)
		}
		if root := ne.Uint64(e.value); root != 0 {
			leafAt := -1
			if w.skeleton {
				h, err := w.height(root)
				if err != nil {
					return err
				}
				leafAt = depth + h
			}
			if err := w.tree(root, nil, nil, depth+1, leafAt, true); err != nil {
				return err
			}
			continue
		}
		// An inline bucket: a leaf page inside the value, without sub-buckets
		// (bbolt only inlines buckets that have none).
		in := e.value[bucketHdrSize:]
		if len(in) < pageHeaderSize || ne.Uint16(in[8:]) != leafFlag {
			return fmt.Errorf("page %d: element %d: inline bucket is not a leaf page", id, i)
		}
		ies, err := elements(id, in, int(ne.Uint16(in[10:])), true)
		if err != nil {
			return fmt.Errorf("page %d: element %d: inline bucket: %v", id, i, err)
		}
		if err := ordered(id, ies, nil, nil); err != nil {
			return fmt.Errorf("page %d: element %d: inline bucket: %v", id, i, err)
		}
		for _, ie := range ies {
			if ie.bucket {
				return fmt.Errorf("page %d: element %d: inline bucket holds a bucket", id, i)
			}
		}
	}
	return nil
}

// height is the number of levels of the tree at root, read down its
// leftmost path: bbolt's trees are balanced, so every leaf is that deep.
func (w *pageWalk) height(root uint64) (int, error) {
	id := root
	for levels := 1; levels <= maxTreeDepth; levels++ {
		p, err := w.page(id)
		if err != nil {
			return 0, err
		}
		switch flags := ne.Uint16(p[8:]); flags {
		case leafFlag:
			return levels, nil
		case branchFlag:
			es, err := elements(id, p, int(ne.Uint16(p[10:])), false)
			if err != nil {
				return 0, err
			}
			if len(es) == 0 {
				return 0, fmt.Errorf("page %d: empty branch", id)
			}
			id = es[0].child
		default:
			return 0, fmt.Errorf("page %d: flags %#x where a branch or leaf page is expected", id, flags)
		}
	}
	return 0, fmt.Errorf("page %d: tree deeper than %d", root, maxTreeDepth)
}
