package domain

import (
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// Verifier checks the tamper evidence of a log, event by event in log
// order, independently of where the events come from (a log, an export
// file): every event must continue the hash chain of its stream (revision
// one more than the last, PrevHash the last Hash, Hash recomputed over its
// canonical bytes), positions when set must be gapless, and every seal must
// name the head the verifier has seen for each stream it lists.
//
// What it cannot see: the order of events of different streams (each chain
// stays intact if two such events swap), nor events cut after the last seal.
type Verifier struct {
	streams map[string]*chainState
	pos     uint64 // last non-zero position seen
	res     VerifyResult
	err     *VerifyError // sticky: the first failure
	hashes  []chainHash  // CheckBatch's scratch
}

// chainState is where a stream's chain stands.
type chainState struct {
	next       uint64 // revision expected next
	hash, prev Hash   // Hash of revision next-1, and of next-2 (its PrevHash)
}

// VerifyResult counts what a Verifier has checked.
type VerifyResult struct {
	Events  int // events checked, seals included
	Streams int // streams seen, the seal stream included
	Seals   int // seal events checked
	// Position of the last seal (0 if none or positions unset) and events
	// checked after it, which no seal covers yet: a cut there goes unseen.
	LastSeal      uint64
	AfterLastSeal int
}

// VerifyError names the first event that breaks a chain or a seal.
type VerifyError struct {
	Position uint64 // 0 when the source does not set positions
	Line     int    // line of a file, set by the reader of the file; 0 otherwise
	Stream   string
	Revision uint64
	ID       EventID
	Reason   string
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Position > 0 {
		fmt.Fprintf(&b, "position %d: ", e.Position)
	}
	fmt.Fprintf(&b, "stream %s revision %d, event %s: %s", e.Stream, e.Revision, formatEventID(e.ID), e.Reason)
	return b.String()
}

// formatEventID prints id as a UUID.
func formatEventID(id EventID) string {
	var buf [36]byte
	hex.Encode(buf[0:8], id[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], id[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], id[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], id[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], id[10:])
	return string(buf[:])
}

// Reasons a VerifyError gives, at the start of its Reason.
const (
	ReasonMissing    = "event missing or out of order"
	ReasonAltered    = "event altered"
	ReasonNotChained = "event not chained"
)

// NewVerifier returns a Verifier that has seen no event.
func NewVerifier() *Verifier {
	return &Verifier{streams: make(map[string]*chainState)}
}

// Check checks env, the next event in log order. It returns the first
// failure, as a *VerifyError, and again on every later call.
func (v *Verifier) Check(env *Envelope) error { return v.check(env, nil) }

// chainHash is an event's hash as ChainHash returns it.
type chainHash struct {
	h   Hash
	err error
}

// check is Check; known, when not nil, is env's hash computed beforehand.
func (v *Verifier) check(env *Envelope, known *chainHash) error {
	if v.err != nil {
		return v.err
	}
	if env.Position != 0 {
		if v.pos != 0 && env.Position != v.pos+1 {
			return v.fail(env, fmt.Sprintf("%s: position %d follows %d", ReasonMissing, env.Position, v.pos))
		}
		v.pos = env.Position
	}
	if env.Hash.IsZero() {
		return v.fail(env, ReasonNotChained+": it has no hash")
	}
	st := v.streams[env.Stream]
	var next uint64
	var last Hash
	if st != nil {
		next, last = st.next, st.hash
	}
	if env.Revision != next {
		if next == 0 {
			return v.fail(env, fmt.Sprintf("%s: the stream's first event is at revision %d", ReasonMissing, env.Revision))
		}
		return v.fail(env, fmt.Sprintf("%s: revision %d follows revision %d", ReasonMissing, env.Revision, next-1))
	}
	if env.PrevHash != last {
		return v.fail(env, ReasonAltered+": its previous hash is not the hash of the stream's previous event")
	}
	var ch chainHash
	if known != nil {
		ch = *known
	} else {
		ch.h, ch.err = ChainHash(env, env.PrevHash)
	}
	if ch.err != nil {
		return v.fail(env, fmt.Sprintf("%s: %v", ReasonAltered, ch.err))
	}
	if ch.h != env.Hash {
		return v.fail(env, ReasonAltered+": its content does not match its hash")
	}
	if env.Stream == SealStream {
		if err := v.checkSeal(env); err != nil {
			return err
		}
	}
	if st == nil {
		st = &chainState{}
		v.streams[env.Stream] = st
		v.res.Streams++
	}
	st.next, st.prev, st.hash = next+1, last, ch.h
	v.res.Events++
	v.res.AfterLastSeal++
	return nil
}

// CheckBatch is Check of each of envs in order, the hashes computed in
// parallel first (a hash depends only on its event and PrevHash). It returns
// how many passed and the first failure.
func (v *Verifier) CheckBatch(envs []Envelope) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if cap(v.hashes) < len(envs) {
		v.hashes = make([]chainHash, len(envs))
	}
	hashes := v.hashes[:len(envs)]
	workers := min(runtime.GOMAXPROCS(0), (len(envs)+255)/256)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(envs)/workers, (w+1)*len(envs)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				hashes[i].h, hashes[i].err = ChainHash(&envs[i], envs[i].PrevHash)
			}
		})
	}
	wg.Wait()
	for i := range envs {
		if err := v.check(&envs[i], &hashes[i]); err != nil {
			return i, err
		}
	}
	return len(envs), nil
}

// checkSeal checks the heads a seal commits to against the chains seen so
// far. A head one revision behind (an event appended between the reading of
// the heads and the append of the seal) is checked against the PrevHash of
// the stream's last event; further behind, only its presence is checked.
func (v *Verifier) checkSeal(env *Envelope) error {
	var seal LogSealed
	switch e := env.Event.(type) {
	case LogSealed:
		seal = e
	case *LogSealed:
		seal = *e
	default:
		return v.fail(env, fmt.Sprintf("%s: a %s event in the seal stream", ReasonAltered, env.Type()))
	}
	for _, head := range seal.Heads {
		want, err := ParseHash(head.Hash)
		if err != nil {
			return v.fail(env, fmt.Sprintf("%s: seal head of stream %s: %v", ReasonAltered, head.Stream, ErrorMessage(err)))
		}
		st := v.streams[head.Stream]
		switch {
		case st == nil:
			return v.fail(env, fmt.Sprintf("stream %s missing (sealed at revision %d)", head.Stream, head.Revision))
		case st.next <= head.Revision:
			return v.fail(env, fmt.Sprintf("stream %s cut at revision %d, sealed at %d", head.Stream, st.next-1, head.Revision))
		case st.next-1 == head.Revision && st.hash != want,
			st.next-2 == head.Revision && st.prev != want:
			return v.fail(env, fmt.Sprintf("%s: stream %s at revision %d is not the one sealed", ReasonAltered, head.Stream, head.Revision))
		}
	}
	v.res.Seals++
	v.res.LastSeal = env.Position
	v.res.AfterLastSeal = -1 // Check counts the seal itself next
	return nil
}

func (v *Verifier) fail(env *Envelope, reason string) error {
	v.err = &VerifyError{Position: env.Position, Stream: env.Stream, Revision: env.Revision, ID: env.ID, Reason: reason}
	return v.err
}

// Result returns what was checked so far.
func (v *Verifier) Result() VerifyResult { return v.res }

// Err returns the first failure, nil if none.
func (v *Verifier) Err() error {
	if v.err == nil {
		return nil
	}
	return v.err
}
