package boltlog

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"testing"
	"time"

	"dispo/domain"
)

func sampleEnvelopes() []domain.Envelope {
	at := time.Date(2024, 8, 9, 10, 47, 0, 123456789, time.UTC)
	unit := domain.Unit{ID: "77-EG-01", FINESS: "770000001", Establishment: "EG", Department: "77",
		Type: "udm", Name: "Unité de dialyse médicalisée", Phone: "01 64 00 00 00"}
	events := []domain.Event{
		domain.UnitRegistered{Unit: unit},
		domain.UnitDetailsChanged{Unit: unit},
		domain.AvailabilityDeclared{Available: 1, Installed: 18, ClosedPlaces: 0},
		domain.CommentSet{Text: "1 place le 11/03 à 10h"},
		domain.CommentCleared{},
		domain.UnitClosed{Reason: "travaux", Start: at, PlannedEnd: at.Add(48 * time.Hour), Reopenable: true},
		domain.UnitClosed{Reason: "fermeture", Start: at},
		domain.UnitReopened{},
		domain.UnitPooled{Pool: "pool-1"},
		domain.UnitUnpooled{},
		// The fields that came later, alone and together: each is read
		// back in its place.
		domain.UnitDetailsChanged{Unit: withCommuneAndSync(unit, "Melun", "")},
		domain.UnitDetailsChanged{Unit: withCommuneAndSync(unit, "", "DIA-77-01")},
		domain.UnitDetailsChanged{Unit: withCommuneAndSync(unit, "Melun", "DIA-77-01")},
		domain.AvailabilityDeclared{Available: 2, Installed: 18, ClosedPlaces: 1, CapacitySource: domain.CapacitySourceBedManagement},
		domain.AvailabilityDeclared{Available: 2, Installed: 18, ClosedPlaces: 1, ClosingType: domain.ClosingReopenable},
		domain.AvailabilityDeclared{Available: 2, Installed: 18, ClosedPlaces: 1, CapacitySource: domain.CapacitySourceGAM, ClosingType: domain.ClosingNotReopenable},
	}
	out := make([]domain.Envelope, len(events))
	for i, e := range events {
		out[i] = domain.Envelope{ID: domain.EventID{byte(i + 1), 2, 3}, Stream: "unit-77-EG-01", SchemaVersion: 1,
			Position: uint64(i + 1), Revision: uint64(i), RecordedAt: at.Add(time.Duration(i) * time.Minute),
			Actor:  domain.Actor{UserID: "resp", Role: domain.RoleResponsable, Establishment: "770000001"},
			Source: domain.SourceManual, CorrelationID: "c-1", Event: e}
	}
	if err := domain.Chain(out, domain.Hash{}); err != nil {
		panic(err)
	}
	seal := domain.Envelope{ID: domain.EventID{byte(len(out) + 1), 2, 3}, Stream: domain.SealStream, SchemaVersion: 1,
		Position: uint64(len(out) + 1), RecordedAt: at.Add(time.Hour),
		Actor:  domain.Actor{UserID: "admin", Role: domain.RoleAdmin},
		Source: domain.SourceManual, Event: domain.LogSealed{Heads: []domain.StreamHead{
			{Stream: "unit-77-EG-01", Revision: uint64(len(out) - 1), Hash: out[len(out)-1].Hash.String()},
			{Stream: "unit-77-EG-02", Revision: 0, Hash: out[0].Hash.String()},
		}}}
	seals := []domain.Envelope{seal}
	if err := domain.Chain(seals, domain.Hash{}); err != nil {
		panic(err)
	}
	return append(out, seals[0])
}

func withCommuneAndSync(u domain.Unit, commune, sync string) domain.Unit {
	u.Commune, u.SyncID = commune, sync
	return u
}

// Records of what was written before the optional fields existed stay
// byte for byte what they were: the fields add bytes only when set.
func TestOptionalFieldsAddNothingWhenUnset(t *testing.T) {
	unit := domain.Unit{ID: "u", FINESS: "770000001", Establishment: "E", Department: "77", Type: "udm", Name: "N"}
	var old []byte
	for _, s := range []string{"u", "770000001", "E", "77", "udm", "N", ""} {
		old = appendString(old, s)
	}
	if got := appendUnit(nil, unit); !bytes.Equal(got, old) {
		t.Fatalf("a unit without commune nor sync id encodes as %x, want the old %x", got, old)
	}
	got, err := appendPayload(nil, domain.AvailabilityDeclared{Available: 1, Installed: 18, ClosedPlaces: 2})
	if want := []byte{1, 18, 2}; err != nil || !bytes.Equal(got, want) {
		t.Fatalf("a person's declaration encodes as %x (%v), want the old %x", got, err, want)
	}
}

func encodeSealed(t testing.TB, env *domain.Envelope, prev uint64) []byte {
	rec, err := encodeRecord(nil, env)
	if err != nil {
		t.Fatal(err)
	}
	sealRecord(rec, env.Revision, prev)
	return rec
}

func TestRecordRoundTrip(t *testing.T) {
	for _, env := range sampleEnvelopes() {
		rec := encodeSealed(t, &env, 0)
		var got domain.Envelope
		if err := newDecoder().decode(env.Position, rec, &got); err != nil {
			t.Fatalf("%s: %v", env.Type(), err)
		}
		if !reflect.DeepEqual(got, env) {
			t.Fatalf("%s:\n got %+v\nwant %+v", env.Type(), got, env)
		}
	}
}

func TestRecordRefusesTimesOutOfRange(t *testing.T) {
	env := sampleEnvelopes()[2]
	env.RecordedAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := encodeRecord(nil, &env); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("got %v, want invalid", err)
	}
}

func TestEveryTruncationIsCorrupt(t *testing.T) {
	for _, env := range sampleEnvelopes() {
		rec := encodeSealed(t, &env, 0)
		for n := 0; n < len(rec); n++ {
			var got domain.Envelope
			if err := newDecoder().decode(1, rec[:n], &got); err == nil {
				t.Fatalf("%s cut to %d of %d bytes decoded", env.Type(), n, len(rec))
			}
		}
	}
}

// FuzzDecodeRecord: no input panics the decoder; what decodes re-encodes
// to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	for _, env := range sampleEnvelopes() {
		f.Add(encodeSealed(f, &env, 7), true)
	}
	f.Fuzz(func(t *testing.T, rec []byte, fixCRC bool) {
		if fixCRC && len(rec) >= headerLen {
			// Let the fuzzer past the checksum, into the fields.
			binary.BigEndian.PutUint32(rec[offCRC:], crc32.Checksum(rec[offID:], castagnoli))
		}
		var env domain.Envelope
		if err := newDecoder().decode(1, rec, &env); err != nil {
			return
		}
		if env.Validate() != nil {
			return // decodable but not appendable: the log never wrote it
		}
		again := encodeSealed(t, &env, binary.BigEndian.Uint64(rec[offPrev:]))
		if !bytes.Equal(again, rec) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, rec)
		}
	})
}
