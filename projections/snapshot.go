package projections

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// # Snapshots
//
// A snapshot is the whole state of a Live (the availability fold, the
// trends fold and the position) written to a file so that a restart
// resumes following the log after the snapshot's position instead of
// folding it again from position 0.
//
// The format, version 4 (2 added the units' last hash to the availability
// fold; 3 the retirement, corrections and reopenings awaiting a declaration;
// 4 the read model's own unit record in place of the domain's):
//
//	magic    8 bytes  "DISPOPRJ"
//	version  4 bytes  big-endian uint32, snapshotVersion
//	length   8 bytes  big-endian uint64, of the payload
//	payload  length bytes, encoding/gob of a liveSnapshot
//	sum      32 bytes SHA-256 of everything before it
//
// The payload mirrors the folds in exported structs; units and pools are
// written in id order and pool members in their order, so that a state is
// always written the same way. Any change to those structs or to what the
// folds keep must bump snapshotVersion: a snapshot of another version is
// refused, and the caller folds from 0 (a snapshot is a cache, the log is
// the truth).
//
// The as-of checkpoints (see AsOf) are not written: after ReadSnapshot the
// Live keeps one at the snapshot's position, so an as-of query at or after
// the snapshot's last event starts from it, and one before it folds the log
// from position 0, as a query before the first checkpoint always did.
//
// A snapshot does not identify the log it was taken of: it must be kept
// with that log (positions of another log, or of an esdblog index of another
// replica, do not mean the same events). Follow refuses a snapshot whose
// position is past the log's head.

const (
	snapshotMagic   = "DISPOPRJ"
	snapshotVersion = 4
	snapshotHeader  = len(snapshotMagic) + 4 + 8
	// maxSnapshotPayload bounds what ReadSnapshot reads: far above the
	// state of a region (a few MB), far below what would hurt.
	maxSnapshotPayload = 1 << 30
)

// ErrBadSnapshot is the error ReadSnapshot returns, wrapped with the
// reason, for a snapshot it cannot use: damaged, truncated, of another
// format or version, or inconsistent. The Live is left as it was (empty)
// and the caller folds the log from position 0.
var ErrBadSnapshot = errors.New("projections: unusable snapshot")

func badSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
}

// liveSnapshot is the payload.
type liveSnapshot struct {
	Position uint64
	LastAt   int64 // recorded-at of the event at Position, Unix ns; 0 before any
	A        availabilitySnapshot
	T        trendsSnapshot
}

type availabilitySnapshot struct {
	Pos, Seq uint64
	Units    []entrySnapshot // by id
	Pools    []poolSnapshot  // by id
}

type entrySnapshot struct {
	Unit      UnitImage
	Listed    bool
	Dept, Est string
}

type poolSnapshot struct {
	ID        string
	Members   []string // unit ids, in the pool's order
	Available int
	Seq       uint64
}

type trendsSnapshot struct {
	Pos    uint64
	Clock  int64
	Units  []trendUnitSnapshot // in the order first seen (trendUnit.idx)
	Pools  []trendPoolSnapshot // by pool id
	Groups []trendGroupSnapshot
	Weeks  []trendWeekSnapshot
}

type trendUnitSnapshot struct {
	ID              string
	Cell            int32
	Counted, Closed bool
	Avail, Inst     int64
}

type trendPoolSnapshot struct {
	ID        string
	Available int64
	Groups    []int32
}

type totalsSnapshot struct{ Avail, Inst, Counted, Closed int64 }

type trendGroupSnapshot struct {
	Dept, Type string
	Cell       [4]int32
	Totals     totalsSnapshot
	Since      int64
}

type groupWeekSnapshot struct {
	AvailMs, InstMs, CoveredMs, ClosedMs int64
	Min, Max, End                        int64
	EndCounted                           bool
}

type unitWeekSnapshot struct {
	Cell, Decls int32
	Expected    bool
}

type trendWeekSnapshot struct {
	N, Span, Start, End int64
	Groups              []groupWeekSnapshot
	Quiet               []totalsSnapshot
	Units               []unitWeekSnapshot
}

// WriteSnapshot writes the state of the projections to w, at the position
// they reached. It may run while Follow applies events: it copies the state
// under the read lock, then encodes and writes without holding it.
func (l *Live) WriteSnapshot(w io.Writer) error {
	l.mu.RLock()
	s := liveSnapshot{Position: l.a.pos, LastAt: l.lastAt.Load(), A: l.a.snapshot(), T: l.t.snapshot()}
	l.mu.RUnlock()

	var buf bytes.Buffer
	buf.WriteString(snapshotMagic)
	buf.Write(make([]byte, 12)) // version and length, set below
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		return fmt.Errorf("projections: encode snapshot: %w", err)
	}
	p := buf.Bytes()
	binary.BigEndian.PutUint32(p[len(snapshotMagic):], snapshotVersion)
	binary.BigEndian.PutUint64(p[len(snapshotMagic)+4:], uint64(len(p)-snapshotHeader))
	sum := sha256.Sum256(p)
	buf.Write(sum[:])
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("projections: write snapshot: %w", err)
	}
	return nil
}

// ReadSnapshot loads a snapshot written by WriteSnapshot into an empty Live,
// before Follow: Follow then resumes after the snapshot's position. A
// snapshot that is damaged, truncated, not a snapshot, of another version
// or inconsistent is refused with an error wrapping ErrBadSnapshot, and the
// Live is left empty, at position 0. It reads from r only what the snapshot
// holds.
func (l *Live) ReadSnapshot(r io.Reader) error {
	if l.started.Load() || l.pos.Load() != 0 {
		return errors.New("projections: ReadSnapshot on a Live that already folded events or follows a log")
	}
	s, err := decodeSnapshot(r)
	if err != nil {
		return err
	}
	t, err := s.restore()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started.Load() || l.pos.Load() != 0 {
		return errors.New("projections: ReadSnapshot on a Live that already folded events or follows a log")
	}
	l.t, l.a = t, t.a
	l.checkpoints = nil
	if s.Position > 0 {
		l.checkpoints = []checkpoint{{pos: s.Position, last: time.Unix(0, s.LastAt).UTC(), a: t.a.Clone()}}
	}
	l.lastAt.Store(s.LastAt)
	l.pos.Store(s.Position)
	return nil
}

func decodeSnapshot(r io.Reader) (*liveSnapshot, error) {
	head := make([]byte, snapshotHeader)
	if n, err := io.ReadFull(r, head); err != nil {
		if n == 0 && err == io.EOF {
			return nil, badSnapshot("empty")
		}
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, badSnapshot("truncated header (%d bytes)", n)
		}
		return nil, fmt.Errorf("projections: read snapshot: %w", err)
	}
	if string(head[:len(snapshotMagic)]) != snapshotMagic {
		return nil, badSnapshot("not a dispo projections snapshot")
	}
	if v := binary.BigEndian.Uint32(head[len(snapshotMagic):]); v != snapshotVersion {
		return nil, badSnapshot("format version %d, this build reads version %d", v, snapshotVersion)
	}
	n := binary.BigEndian.Uint64(head[len(snapshotMagic)+4:])
	if n > maxSnapshotPayload {
		return nil, badSnapshot("payload of %d bytes, more than the %d allowed", n, maxSnapshotPayload)
	}
	var buf bytes.Buffer
	buf.Write(head)
	// CopyN grows the buffer as data comes: a damaged length costs no more
	// than the file holds.
	if got, err := io.CopyN(&buf, r, int64(n)+sha256.Size); err != nil {
		if err == io.EOF {
			return nil, badSnapshot("truncated: %d of %d bytes", int64(snapshotHeader)+got, snapshotHeader+int(n)+sha256.Size)
		}
		return nil, fmt.Errorf("projections: read snapshot: %w", err)
	}
	p := buf.Bytes()
	content, sum := p[:len(p)-sha256.Size], p[len(p)-sha256.Size:]
	if want := sha256.Sum256(content); !bytes.Equal(sum, want[:]) {
		return nil, badSnapshot("checksum mismatch (damaged)")
	}
	var s liveSnapshot
	dec := gob.NewDecoder(bytes.NewReader(content[snapshotHeader:]))
	if err := dec.Decode(&s); err != nil {
		return nil, badSnapshot("decode: %v", err)
	}
	return &s, nil
}

// snapshot returns a's state; it shares nothing with a.
func (a *Availability) snapshot() availabilitySnapshot {
	s := availabilitySnapshot{Pos: a.pos, Seq: a.seq, Units: make([]entrySnapshot, 0, len(a.units)),
		Pools: make([]poolSnapshot, 0, len(a.pools))}
	for _, e := range a.units {
		s.Units = append(s.Units, entrySnapshot{Unit: e.image(), Listed: e.listed, Dept: e.dept, Est: e.est})
	}
	slices.SortFunc(s.Units, func(x, y entrySnapshot) int { return cmp.Compare(x.Unit.ID, y.Unit.ID) })
	for _, p := range a.pools {
		ps := poolSnapshot{ID: p.id, Members: make([]string, len(p.members)), Available: p.available, Seq: p.seq}
		for i, m := range p.members {
			ps.Members[i] = m.id
		}
		s.Pools = append(s.Pools, ps)
	}
	slices.SortFunc(s.Pools, func(x, y poolSnapshot) int { return cmp.Compare(x.ID, y.ID) })
	return s
}

func totalsOf(g groupTotals) totalsSnapshot {
	return totalsSnapshot{Avail: g.avail, Inst: g.inst, Counted: g.counted, Closed: g.closed}
}

func (s totalsSnapshot) totals() groupTotals {
	return groupTotals{avail: s.Avail, inst: s.Inst, counted: s.Counted, closed: s.Closed}
}

// snapshot returns t's own state (not its Availability's); it shares
// nothing with t.
func (t *Trends) snapshot() trendsSnapshot {
	s := trendsSnapshot{Pos: t.pos, Clock: t.clock, Units: make([]trendUnitSnapshot, len(t.list)),
		Pools: make([]trendPoolSnapshot, 0, len(t.pools)), Groups: make([]trendGroupSnapshot, len(t.groups)),
		Weeks: make([]trendWeekSnapshot, len(t.weeks))}
	for i, u := range t.list {
		s.Units[i] = trendUnitSnapshot{ID: u.e.id, Cell: u.cell, Counted: u.counted, Closed: u.closed, Avail: u.avail, Inst: u.inst}
	}
	for p, tp := range t.pools {
		s.Pools = append(s.Pools, trendPoolSnapshot{ID: p.id, Available: tp.available, Groups: slices.Clone(tp.groups)})
	}
	slices.SortFunc(s.Pools, func(x, y trendPoolSnapshot) int { return cmp.Compare(x.ID, y.ID) })
	for i, g := range t.groups {
		s.Groups[i] = trendGroupSnapshot{Dept: g.key.dept, Type: g.key.typ, Cell: g.cell, Totals: totalsOf(g.groupTotals), Since: g.since}
	}
	for i, w := range t.weeks {
		ws := trendWeekSnapshot{N: w.n, Span: w.span, Start: w.start, End: w.end}
		if w.groups != nil {
			ws.Groups = make([]groupWeekSnapshot, len(w.groups))
			for j, gw := range w.groups {
				ws.Groups[j] = groupWeekSnapshot{AvailMs: gw.availMs, InstMs: gw.instMs, CoveredMs: gw.coveredMs, ClosedMs: gw.closedMs,
					Min: gw.min, Max: gw.max, End: gw.end, EndCounted: gw.endCounted}
			}
		}
		if w.quiet != nil {
			ws.Quiet = make([]totalsSnapshot, len(w.quiet))
			for j, q := range w.quiet {
				ws.Quiet[j] = totalsOf(q)
			}
		}
		ws.Units = make([]unitWeekSnapshot, len(w.units))
		for j, uw := range w.units {
			ws.Units[j] = unitWeekSnapshot{Cell: uw.cell, Decls: uw.decls, Expected: uw.expected}
		}
		s.Weeks[i] = ws
	}
	return s
}

// restore rebuilds the folds of s, checking that they hold together so that
// folding on from them cannot fail.
func (s *liveSnapshot) restore() (*Trends, error) {
	if s.A.Pos != s.Position || s.T.Pos != s.Position {
		return nil, badSnapshot("positions disagree: live %d, availability %d, trends %d", s.Position, s.A.Pos, s.T.Pos)
	}
	a, err := s.A.restore()
	if err != nil {
		return nil, err
	}
	return s.T.restore(a)
}

func (s *availabilitySnapshot) restore() (*Availability, error) {
	a := NewAvailability()
	a.pos, a.seq = s.Pos, s.Seq
	for _, es := range s.Units {
		if es.Unit.ID == "" || a.units[es.Unit.ID] != nil {
			return nil, badSnapshot("unit id %q is empty or repeated", es.Unit.ID)
		}
		if es.Unit.DeclarationSeq > s.Seq {
			return nil, badSnapshot("unit %s declared at sequence %d, after the fold's %d", es.Unit.ID, es.Unit.DeclarationSeq, s.Seq)
		}
		e := entryOf(es.Unit)
		e.dept, e.est = es.Dept, es.Est
		if es.Listed {
			u := e.rec.unit
			if !e.rec.registered || u.Department != es.Dept || u.Establishment != es.Est {
				return nil, badSnapshot("unit %s is listed under another department or establishment, or is not registered", e.id)
			}
			e.listed = true
			a.listed = append(a.listed, e)
		} else if e.rec.registered {
			return nil, badSnapshot("registered unit %s is not listed", e.id)
		}
		a.units[e.id] = e
	}
	slices.SortFunc(a.listed, compareEntries)
	for _, ps := range s.Pools {
		if ps.ID == "" || a.pools[ps.ID] != nil || len(ps.Members) == 0 || ps.Seq > s.Seq {
			return nil, badSnapshot("pool %q is repeated, empty or declared after the fold", ps.ID)
		}
		p := &pool{id: ps.ID, available: ps.Available, seq: ps.Seq, members: make([]*entry, len(ps.Members))}
		for i, id := range ps.Members {
			e := a.units[id]
			if e == nil || e.pool != nil || e.rec.pool != ps.ID {
				return nil, badSnapshot("pool %s: member %q is unknown, in another pool, or not pooled in it", ps.ID, id)
			}
			e.pool, p.members[i] = p, e
		}
		a.pools[ps.ID] = p
	}
	for _, e := range a.units {
		if e.rec.pool != "" && e.pool == nil {
			return nil, badSnapshot("unit %s is pooled in %s but no such pool holds it", e.id, e.rec.pool)
		}
	}
	return a, nil
}

func (s *trendsSnapshot) restore(a *Availability) (*Trends, error) {
	t := &Trends{a: a, pos: s.Pos, clock: s.Clock,
		units: make(map[*entry]*trendUnit, len(s.Units)), byID: make(map[string]*trendUnit, len(s.Units)),
		list: make([]*trendUnit, len(s.Units)), pools: make(map[*pool]*trendPool, len(s.Pools)),
		groups: make([]*trendGroup, len(s.Groups)), byKey: make(map[groupKey]int32, len(s.Groups))}
	ng := int32(len(s.Groups))
	inGroups := func(id int32) bool { return id >= 0 && id < ng }
	if ng == 0 || s.Groups[0].Dept != "" || s.Groups[0].Type != "" {
		return nil, badSnapshot("trends: the first group is not the region")
	}
	for i, gs := range s.Groups {
		k := groupKey{gs.Dept, gs.Type}
		if _, dup := t.byKey[k]; dup {
			return nil, badSnapshot("trends: group %q/%q is repeated", k.dept, k.typ)
		}
		if k.dept != "" && k.typ != "" {
			if gs.Cell[0] != int32(i) || gs.Cell[3] != 0 || !inGroups(gs.Cell[1]) || !inGroups(gs.Cell[2]) {
				return nil, badSnapshot("trends: cell %s/%s has groups out of range", k.dept, k.typ)
			}
		}
		t.byKey[k] = int32(i)
		t.groups[i] = &trendGroup{key: k, cell: gs.Cell, groupTotals: gs.Totals.totals(), since: gs.Since}
	}
	isCell := func(id int32) bool { return inGroups(id) && t.groups[id].key.dept != "" && t.groups[id].key.typ != "" }
	if len(s.Units) != len(a.units) {
		return nil, badSnapshot("trends: %d units, availability %d", len(s.Units), len(a.units))
	}
	for i, us := range s.Units {
		e := a.units[us.ID]
		if e == nil || t.byID[us.ID] != nil {
			return nil, badSnapshot("trends: unit %q is unknown or repeated", us.ID)
		}
		if us.Cell != -1 && !isCell(us.Cell) || us.Cell == -1 && (us.Counted || us.Closed) {
			return nil, badSnapshot("trends: unit %s is in no cell (%d)", us.ID, us.Cell)
		}
		u := &trendUnit{e: e, idx: int32(i), cell: us.Cell, counted: us.Counted, closed: us.Closed, avail: us.Avail, inst: us.Inst}
		t.list[i], t.units[e], t.byID[us.ID] = u, u, u
	}
	if len(s.Pools) != len(a.pools) {
		return nil, badSnapshot("trends: %d pools, availability %d", len(s.Pools), len(a.pools))
	}
	for _, ps := range s.Pools {
		p := a.pools[ps.ID]
		if p == nil || t.pools[p] != nil || slices.ContainsFunc(ps.Groups, func(id int32) bool { return !inGroups(id) }) {
			return nil, badSnapshot("trends: pool %q is unknown, repeated or in groups out of range", ps.ID)
		}
		t.pools[p] = &trendPool{available: ps.Available, groups: slices.Clone(ps.Groups)}
	}
	for i, ws := range s.Weeks {
		last := i == len(s.Weeks)-1
		switch {
		case ws.Span < 1 || last && ws.Span != 1,
			ws.Span == 1 && len(ws.Quiet) != 0 || ws.Span > 1 && len(ws.Groups) != 0,
			i > 0 && s.Weeks[i-1].N+s.Weeks[i-1].Span != ws.N,
			len(ws.Groups) > int(ng) || len(ws.Quiet) > int(ng) || len(ws.Units) > len(t.list),
			last && len(ws.Groups) != int(ng):
			return nil, badSnapshot("trends: week record %d does not fit", i)
		}
		w := &trendWeek{n: ws.N, span: ws.Span, start: ws.Start, end: ws.End}
		if ws.Span == 1 {
			w.groups = make([]groupWeek, len(ws.Groups))
		}
		for j, gs := range ws.Groups {
			w.groups[j] = groupWeek{availMs: gs.AvailMs, instMs: gs.InstMs, coveredMs: gs.CoveredMs, closedMs: gs.ClosedMs,
				min: gs.Min, max: gs.Max, end: gs.End, endCounted: gs.EndCounted}
		}
		if len(ws.Quiet) > 0 {
			w.quiet = make([]groupTotals, len(ws.Quiet))
			for j, q := range ws.Quiet {
				w.quiet[j] = q.totals()
			}
		}
		w.units = make([]unitWeek, len(ws.Units))
		for j, us := range ws.Units {
			if us.Cell != -1 && !isCell(us.Cell) {
				return nil, badSnapshot("trends: week record %d puts unit %d in no cell", i, j)
			}
			w.units[j] = unitWeek{cell: us.Cell, decls: us.Decls, expected: us.Expected}
		}
		t.weeks = append(t.weeks, w)
	}
	return t, nil
}
