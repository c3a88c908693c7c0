package standin

import (
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// FirstPosition is the $all position of the first event appended to a
// stand-in. It is not 0 because a real node's log starts with its own
// records, and a subscription "after position 0" must still see the first
// event.
const FirstPosition = 4096

// recordOverhead is added to each event's size when positions advance, so that
// positions are sparse like a node's byte offsets.
const recordOverhead = 128

// record is one appended event. Records are immutable once in the log.
type record struct {
	stream   string
	revision uint64
	position uint64 // commit == prepare
	id       uuid.UUID
	typ      string
	json     bool  // content type application/json; anything else is octet-stream
	created  int64 // 100 ns ticks since the Unix epoch
	data     []byte
	meta     []byte // custom metadata
}

func (r *record) size() uint64 {
	return recordOverhead + uint64(len(r.stream)+len(r.typ)+len(r.data)+len(r.meta))
}

type expectKind int

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectRevision
)

type expectation struct {
	kind     expectKind
	revision uint64 // for expectRevision
}

type outcomeKind int

const (
	outcomeWritten outcomeKind = iota
	outcomeIdempotent
	outcomeEmpty // no events proposed, expectation met
	outcomeWrong
)

// outcome is the store's decision on an append.
type outcome struct {
	kind outcomeKind
	// last is the last event written or matched (written, idempotent).
	last *record
	// current is the stream's last revision, -1 when it has no events
	// (empty, wrong).
	current int64
}

type streamKey struct {
	stream string
	id     uuid.UUID
}

// store is the in-memory log: every event in position order, each stream's
// events in revision order, and an index of event ids per stream.
type store struct {
	mu      sync.Mutex
	all     []*record
	streams map[string][]*record
	ids     map[streamKey]*record
	next    uint64
	changed chan struct{} // closed and replaced by every write
}

func newStore() *store {
	return &store{
		streams: make(map[string][]*record),
		ids:     make(map[streamKey]*record),
		next:    FirstPosition,
		changed: make(chan struct{}),
	}
}

// append decides an append as a node does and writes the events when the
// decision is to write. The proposed records carry id, type, content, data
// and created; append fills stream, revision and position.
func (s *store) append(stream string, exp expectation, proposed []*record) outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := s.streams[stream]
	current := int64(len(events)) - 1
	wrong := outcome{kind: outcomeWrong, current: current}

	switch exp.kind {
	case expectStreamExists, expectAny:
		if exp.kind == expectStreamExists && current < 0 {
			return wrong
		}
		if len(proposed) == 0 {
			return outcome{kind: outcomeEmpty, current: current}
		}
		// As the node: the first id unknown in this stream means a new
		// write; all known means a replay; some known is a conflict.
		last, ok := s.ids[streamKey{stream, proposed[0].id}]
		if !ok {
			break
		}
		for _, p := range proposed[1:] {
			if last, ok = s.ids[streamKey{stream, p.id}]; !ok {
				return wrong
			}
		}
		return outcome{kind: outcomeIdempotent, last: last}

	case expectNoStream, expectRevision:
		expected := int64(-1)
		if exp.kind == expectRevision {
			if exp.revision >= 1<<63 {
				return wrong
			}
			expected = int64(exp.revision)
		}
		if expected > current {
			return wrong
		}
		if len(proposed) == 0 {
			if expected != current {
				return wrong
			}
			return outcome{kind: outcomeEmpty, current: current}
		}
		if expected < current {
			// Behind the end: a replay if the same ids sit at the
			// following revisions.
			var last *record
			for i, p := range proposed {
				n := expected + 1 + int64(i)
				if n > current || events[n].id != p.id {
					return wrong
				}
				last = events[n]
			}
			return outcome{kind: outcomeIdempotent, last: last}
		}
	}

	for i, p := range proposed {
		p.stream = stream
		p.revision = uint64(current + 1 + int64(i))
		p.position = s.next
		s.next += p.size()
		s.all = append(s.all, p)
		events = append(events, p)
		s.ids[streamKey{stream, p.id}] = p
	}
	s.streams[stream] = events
	close(s.changed)
	s.changed = make(chan struct{})
	return outcome{kind: outcomeWritten, last: proposed[len(proposed)-1]}
}

// allFrom returns the events of $all from index i on and the channel closed by
// the next write.
func (s *store) allFrom(i int) ([]*record, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i > len(s.all) {
		i = len(s.all)
	}
	return s.all[i:len(s.all):len(s.all)], s.changed
}

// streamFrom returns the events of a stream from revision i on and the channel
// closed by the next write.
func (s *store) streamFrom(stream string, i uint64) ([]*record, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := s.streams[stream]
	if i > uint64(len(events)) {
		i = uint64(len(events))
	}
	return events[i:len(events):len(events)], s.changed
}

// stream returns a stream's events; ok is false when it has none.
func (s *store) stream(name string) (events []*record, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events = s.streams[name]
	return events[:len(events):len(events)], len(events) > 0
}

// snapshot returns every event of $all.
func (s *store) snapshot() []*record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all[:len(s.all):len(s.all)]
}

// indexAfter is the index in all of the first event whose position is above
// p.
func indexAfter(all []*record, p uint64) int {
	return sort.Search(len(all), func(i int) bool { return all[i].position > p })
}

// indexAtOrAfter is the index in all of the first event whose position is p
// or above.
func indexAtOrAfter(all []*record, p uint64) int {
	return sort.Search(len(all), func(i int) bool { return all[i].position >= p })
}

// filter selects events of $all by stream name or event type, by prefixes or
// a regular expression. A nil filter selects everything.
type filter struct {
	onType   bool
	prefixes []string
	re       *regexp.Regexp
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.stream
	if f.onType {
		subject = r.typ
	}
	if f.re != nil {
		return f.re.MatchString(subject)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}
