package boltlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"dispo/domain"
)

// Record layout, part of the format, do not change (see doc.go):
//
//	[0]       record format (recordFormat)
//	[1:5]     CRC-32C of bytes [5:]
//	[5:21]    event id
//	[21:29]   stream revision, uint64 big-endian
//	[29:37]   position of the stream's previous event, 0 for the first
//	[37:69]   hash of the event (domain.ChainHash), zero when not chained
//	[69:101]  hash of the stream's previous event, zero for the first
//	[101:109] recorded-at, Unix nanoseconds, int64 big-endian
//	[109]     event type code (typeCodes)
//	[110]     schema version
//	[111]     source code (sourceCodes)
//	then strings as uvarint length + bytes: stream, actor user id,
//	actor role, actor establishment, correlation id; then the payload.
const (
	recordFormat = 2 // 2 added the hashes
	offCRC       = 1
	offID        = 5
	offRevision  = 21
	offPrev      = 29
	offHash      = 37
	offPrevHash  = 69
	offRecorded  = 101
	offType      = 109
	offSchema    = 110
	offSource    = 111
	headerLen    = 112
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// typeCodes: part of the format, do not change; only append.
var typeCodes = map[string]byte{
	domain.TypeUnitRegistered:        1,
	domain.TypeUnitDetailsChanged:    2,
	domain.TypeAvailabilityDeclared:  3,
	domain.TypeCommentSet:            4,
	domain.TypeCommentCleared:        5,
	domain.TypeUnitClosed:            6,
	domain.TypeUnitReopened:          7,
	domain.TypeUnitPooled:            8,
	domain.TypeUnitUnpooled:          9,
	domain.TypeLogSealed:             10,
	domain.TypeUnitRetired:           11,
	domain.TypeClosureCancelled:      12,
	domain.TypeAvailabilityCorrected: 13,
}

// sourceCodes: part of the format, do not change; only append.
var sourceCodes = map[domain.Source]byte{domain.SourceManual: 1, domain.SourceAPI: 2, domain.SourceImport: 3}

var sourceByCode = [...]domain.Source{1: domain.SourceManual, 2: domain.SourceAPI, 3: domain.SourceImport}

// Nanosecond timestamps in int64 span 1678-2262; refusing outside a sane
// window keeps every stored instant representable.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkTime(what string, t time.Time) error {
	if t.Before(minTime) || !t.Before(maxTime) {
		return domain.Errorf(domain.EInvalid, "%s %s is outside 1900-2200", what, t.Format(time.RFC3339))
	}
	return nil
}

// errCorrupt marks a record that does not decode: storage damage, not bad input.
var errCorrupt = errors.New("boltlog: corrupt record")

// encodeRecord appends env's record to dst. The revision, back link and CRC
// are left for sealRecord, inside the transaction that assigns them. The
// hashes are stored as the writer computed them.
func encodeRecord(dst []byte, env *domain.Envelope) ([]byte, error) {
	code, ok := typeCodes[env.Type()]
	if !ok {
		return nil, domain.Errorf(domain.EInvalid, "unknown event type %q", env.Type())
	}
	if err := checkTime("recorded-at", env.RecordedAt); err != nil {
		return nil, err
	}
	schema := env.SchemaVersion
	if schema == 0 {
		schema = domain.CurrentSchema(env.Type())
	}
	var h [headerLen]byte
	h[0] = recordFormat
	copy(h[offID:], env.ID[:])
	copy(h[offHash:], env.Hash[:])
	copy(h[offPrevHash:], env.PrevHash[:])
	binary.BigEndian.PutUint64(h[offRecorded:], uint64(env.RecordedAt.UnixNano()))
	h[offType] = code
	h[offSchema] = byte(schema)
	h[offSource] = sourceCodes[env.Source]
	dst = append(dst, h[:]...)
	dst = appendString(dst, env.Stream)
	dst = appendString(dst, env.Actor.UserID)
	dst = appendString(dst, string(env.Actor.Role))
	dst = appendString(dst, env.Actor.Establishment)
	dst = appendString(dst, env.CorrelationID)
	return appendPayload(dst, env.Event)
}

// sealRecord writes the revision and the back link into an encoded record
// and checksums it.
func sealRecord(rec []byte, revision, prev uint64) {
	binary.BigEndian.PutUint64(rec[offRevision:], revision)
	binary.BigEndian.PutUint64(rec[offPrev:], prev)
	binary.BigEndian.PutUint32(rec[offCRC:], crc32.Checksum(rec[offID:], castagnoli))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendInt(dst []byte, n int) []byte { return binary.AppendUvarint(dst, uint64(n)) }

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	return binary.BigEndian.AppendUint64(dst, uint64(t.UnixNano()))
}

func appendUnit(dst []byte, u domain.Unit) []byte {
	for _, s := range [...]string{u.ID, u.FINESS, u.Establishment, u.Department, u.Type, u.Name, u.Phone} {
		dst = appendString(dst, s)
	}
	// The commune came later: written only when set, so that records of
	// units without one are those written before it.
	if u.Commune != "" || u.SyncID != "" {
		dst = appendString(dst, u.Commune)
	}
	// So did the synchronisation id, after the commune (then written even
	// when empty).
	if u.SyncID != "" {
		dst = appendString(dst, u.SyncID)
	}
	return dst
}

func appendPayload(dst []byte, e domain.Event) ([]byte, error) {
	switch e := e.(type) {
	case domain.UnitRegistered:
		return appendUnit(dst, e.Unit), nil
	case domain.UnitDetailsChanged:
		return appendUnit(dst, e.Unit), nil
	case domain.AvailabilityDeclared:
		dst = appendInt(dst, e.Available)
		dst = appendInt(dst, e.Installed)
		dst = appendInt(dst, e.ClosedPlaces)
		// The capacity source and the closing type came later: written
		// only when set, so that the declarations without them keep the
		// records they always had; the source (then even empty) first.
		if e.CapacitySource != "" || e.ClosingType != "" {
			dst = appendString(dst, e.CapacitySource)
		}
		if e.ClosingType != "" {
			dst = appendString(dst, e.ClosingType)
		}
		return dst, nil
	case domain.CommentSet:
		return appendString(dst, e.Text), nil
	case domain.UnitClosed:
		if err := checkTime("closure start", e.Start); err != nil {
			return nil, err
		}
		if !e.PlannedEnd.IsZero() {
			if err := checkTime("planned end", e.PlannedEnd); err != nil {
				return nil, err
			}
		}
		dst = appendString(dst, e.Reason)
		dst = appendTime(dst, e.Start)
		dst = appendTime(dst, e.PlannedEnd)
		if e.Reopenable {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case domain.UnitPooled:
		return appendString(dst, e.Pool), nil
	case domain.LogSealed:
		dst = appendInt(dst, len(e.Heads))
		for _, h := range e.Heads {
			dst = appendString(dst, h.Stream)
			dst = binary.AppendUvarint(dst, h.Revision)
			dst = appendString(dst, h.Hash)
		}
		return dst, nil
	case domain.UnitRetired:
		return appendString(dst, e.Reason), nil
	case domain.ClosureCancelled:
		return appendString(dst, e.Reason), nil
	case domain.AvailabilityCorrected:
		dst = appendString(dst, e.Corrects)
		dst = appendInt(dst, e.Available)
		dst = appendInt(dst, e.Installed)
		dst = appendInt(dst, e.ClosedPlaces)
		return appendString(dst, e.Reason), nil
	case domain.CommentCleared, domain.UnitReopened, domain.UnitUnpooled:
		return dst, nil
	}
	return nil, domain.Errorf(domain.EInvalid, "event type %T cannot be stored", e)
}

// decoder turns records back into envelopes. It interns the strings that
// repeat across events (streams, actors) so that a replay allocates per unit,
// not per event. Not safe for concurrent use.
type decoder struct {
	strs map[string]string
}

func newDecoder() *decoder { return &decoder{strs: make(map[string]string)} }

// reader walks a record; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.fail()
		return nil
	}
	s := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return s
}

func (r *reader) str() string { return string(r.bytes()) }

func (r *reader) int() int {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > domain.MaxCount {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}

func (r *reader) uint64() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return n
}

// heads reads a seal's heads: a count, then stream, revision, hash each.
func (d *decoder) heads(r *reader) []domain.StreamHead {
	n := r.uint64()
	if n == 0 || r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)/3) { // each head takes 3 bytes at least
		r.fail()
		return nil
	}
	hs := make([]domain.StreamHead, n)
	for i := range hs {
		hs[i] = domain.StreamHead{Stream: d.intern(r), Revision: r.uint64(), Hash: r.str()}
	}
	return hs
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *reader) time() time.Time {
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
		if len(r.b) < 8 {
			r.fail()
			return time.Time{}
		}
		ns := int64(binary.BigEndian.Uint64(r.b))
		r.b = r.b[8:]
		return time.Unix(0, ns).UTC()
	}
	r.fail()
	return time.Time{}
}

func (d *decoder) intern(r *reader) string {
	b := r.bytes()
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.strs) < 1<<16 {
		d.strs[s] = s
	}
	return s
}

func (r *reader) unit() domain.Unit {
	u := domain.Unit{ID: r.str(), FINESS: r.str(), Establishment: r.str(), Department: r.str(),
		Type: r.str(), Name: r.str(), Phone: r.str()}
	if r.err == nil && len(r.b) > 0 {
		u.Commune = r.str() // see appendUnit
	}
	if r.err == nil && len(r.b) > 0 {
		u.SyncID = r.str()
	}
	return u
}

// checkRecord verifies the header and checksum of the record at pos.
func checkRecord(pos uint64, rec []byte) error {
	if len(rec) < headerLen || rec[0] != recordFormat {
		return fmt.Errorf("%w at position %d: bad header", errCorrupt, pos)
	}
	if binary.BigEndian.Uint32(rec[offCRC:]) != crc32.Checksum(rec[offID:], castagnoli) {
		return fmt.Errorf("%w at position %d: checksum mismatch", errCorrupt, pos)
	}
	return nil
}

// link is where a record sits in its stream.
type link struct {
	stream   string
	revision uint64
	prev     uint64
}

// decodeLink reads only what locates the record at pos in its stream.
func (d *decoder) decodeLink(pos uint64, rec []byte) (link, error) {
	if err := checkRecord(pos, rec); err != nil {
		return link{}, err
	}
	r := reader{b: rec[headerLen:]}
	l := link{stream: d.intern(&r), revision: binary.BigEndian.Uint64(rec[offRevision:]), prev: binary.BigEndian.Uint64(rec[offPrev:])}
	if r.err != nil {
		return link{}, fmt.Errorf("%w at position %d: bad stream name", errCorrupt, pos)
	}
	return l, nil
}

// decode reads the record stored at position pos into env.
func (d *decoder) decode(pos uint64, rec []byte, env *domain.Envelope) error {
	if err := checkRecord(pos, rec); err != nil {
		return err
	}
	*env = domain.Envelope{Position: pos}
	copy(env.ID[:], rec[offID:])
	copy(env.Hash[:], rec[offHash:])
	copy(env.PrevHash[:], rec[offPrevHash:])
	env.Revision = binary.BigEndian.Uint64(rec[offRevision:])
	env.RecordedAt = time.Unix(0, int64(binary.BigEndian.Uint64(rec[offRecorded:]))).UTC()
	env.SchemaVersion = int(rec[offSchema])
	if c := rec[offSource]; int(c) < len(sourceByCode) {
		env.Source = sourceByCode[c]
	}
	r := reader{b: rec[headerLen:]}
	env.Stream = d.intern(&r)
	env.Actor.UserID = d.intern(&r)
	env.Actor.Role = domain.Role(d.intern(&r))
	env.Actor.Establishment = d.intern(&r)
	env.CorrelationID = r.str()
	switch rec[offType] {
	case 1:
		env.Event = domain.UnitRegistered{Unit: r.unit()}
	case 2:
		env.Event = domain.UnitDetailsChanged{Unit: r.unit()}
	case 3:
		decl := domain.AvailabilityDeclared{Available: r.int(), Installed: r.int(), ClosedPlaces: r.int()}
		if r.err == nil && len(r.b) > 0 {
			decl.CapacitySource = d.intern(&r) // see appendPayload
		}
		if r.err == nil && len(r.b) > 0 {
			decl.ClosingType = d.intern(&r)
		}
		env.Event = decl
	case 4:
		env.Event = domain.CommentSet{Text: r.str()}
	case 5:
		env.Event = domain.CommentCleared{}
	case 6:
		env.Event = domain.UnitClosed{Reason: r.str(), Start: r.time(), PlannedEnd: r.time(), Reopenable: r.bool()}
	case 7:
		env.Event = domain.UnitReopened{}
	case 8:
		env.Event = domain.UnitPooled{Pool: r.str()}
	case 9:
		env.Event = domain.UnitUnpooled{}
	case 10:
		env.Event = domain.LogSealed{Heads: d.heads(&r)}
	case 11:
		env.Event = domain.UnitRetired{Reason: r.str()}
	case 12:
		env.Event = domain.ClosureCancelled{Reason: r.str()}
	case 13:
		env.Event = domain.AvailabilityCorrected{Corrects: r.str(), Available: r.int(), Installed: r.int(), ClosedPlaces: r.int(), Reason: r.str()}
	default:
		return fmt.Errorf("%w at position %d: unknown type code %d", errCorrupt, pos, rec[offType])
	}
	if r.err != nil || len(r.b) != 0 {
		return fmt.Errorf("%w at position %d: bad body", errCorrupt, pos)
	}
	return nil
}
