package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Hash is a SHA-256 digest in an event's hash chain.
type Hash [32]byte

// IsZero reports whether h was never set.
func (h Hash) IsZero() bool { return h == Hash{} }

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a hash written by String.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, Errorf(EInvalid, "a hash is 64 hexadecimal digits")
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, Errorf(EInvalid, "a hash is 64 hexadecimal digits")
	}
	return h, nil
}

// chainFormat starts the canonical bytes: part of the chain, do not change.
const chainFormat = "dispo-chain/1\x00"

// ChainHash returns the hash of env chained to prev, the hash of the
// stream's previous event (zero for the first): SHA-256 over canonical
// bytes that every log and file gives alike, whatever it stores:
//
//	"dispo-chain/1\x00", prev (32 bytes), event id (16 bytes),
//	stream revision (uint64 big-endian), recorded-at (Unix ns, int64 big-endian),
//	schema version (uint64), then as uvarint length + bytes: stream, type,
//	actor user id, role, establishment, source, correlation id, and the
//	payload as EncodeEvent writes it, its instants in UTC (every log and
//	file gives them back in UTC, whatever zone they were appended in).
//
// Position is left out: it is the log's, and EventStoreDB derives its own.
func ChainHash(env *Envelope, prev Hash) (Hash, error) {
	payload, err := EncodeEvent(utcEvent(env.Event))
	if err != nil {
		return Hash{}, fmt.Errorf("chain: %w", err)
	}
	bp := chainBufs.Get().(*[]byte)
	b := append((*bp)[:0], chainFormat...)
	b = append(b, prev[:]...)
	b = append(b, env.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, env.Revision)
	b = binary.BigEndian.AppendUint64(b, uint64(env.RecordedAt.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(env.SchemaVersion))
	for _, s := range [...]string{env.Stream, env.Type(), env.Actor.UserID, string(env.Actor.Role), env.Actor.Establishment,
		string(env.Source), env.CorrelationID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(payload)))
	b = append(b, payload...)
	h := sha256.Sum256(b)
	*bp = b
	chainBufs.Put(bp)
	return h, nil
}

// chainBufs recycles the canonical bytes' buffers: verify hashes a million
// events in a row.
var chainBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// utcEvent returns e with its instants in UTC, as logs read them back.
func utcEvent(e Event) Event {
	if c, ok := e.(UnitClosed); ok {
		c.Start = c.Start.UTC()
		if c.PlannedEnd.IsZero() {
			c.PlannedEnd = time.Time{}
		} else {
			c.PlannedEnd = c.PlannedEnd.UTC()
		}
		return c
	}
	return e
}

// Chain sets the Hash and PrevHash of events appended in order to a stream
// whose last event has hash prev, their Revision already set.
func Chain(events []Envelope, prev Hash) error {
	for i := range events {
		h, err := ChainHash(&events[i], prev)
		if err != nil {
			return err
		}
		events[i].PrevHash, events[i].Hash = prev, h
		prev = h
	}
	return nil
}

// SealStream is the stream of seal events. Not a unit stream: projections
// skip it.
const SealStream = "seal"

// TypeLogSealed names the seal event. Part of every stored format.
const TypeLogSealed = "log.sealed"

// StreamHead is where a stream stood when a seal was written.
type StreamHead struct {
	Stream   string `json:"stream"`
	Revision uint64 `json:"revision"`
	Hash     string `json:"hash"` // Hash.String()
}

// LogSealed commits to the head of every stream at one point of the log, so
// that a removed stream or a tail cut before the seal is detected, not only
// a change inside a chain.
type LogSealed struct {
	Heads []StreamHead `json:"heads"`
}

func (LogSealed) EventType() string { return TypeLogSealed }

func (e LogSealed) Validate() error {
	for _, h := range e.Heads {
		if !ValidStream(h.Stream) {
			return Errorf(EInvalid, "seal: invalid stream %q", h.Stream)
		}
		if _, err := ParseHash(h.Hash); err != nil {
			return Errorf(EInvalid, "seal: stream %s: %v", h.Stream, err)
		}
	}
	return nil
}
