package domain_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"dispo/domain"
)

// verifyStart is when the chains the tests build begin.
var verifyStart = time.Date(2024, 8, 9, 10, 47, 0, 0, time.UTC)

// verifyUnit is a unit of department dept and establishment est.
func verifyUnit(id, dept, typ, est string) domain.Unit {
	return domain.Unit{ID: id, FINESS: (dept + "000000000")[:9], Establishment: est, Department: dept,
		Type: typ, Name: "UO " + id, Phone: "01 00 00 00 00"}
}

func reportVerified(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// chained builds a log of chained envelopes, as the writers do, and seals it.
type chained struct {
	tb    testing.TB
	envs  []domain.Envelope
	last  map[string]domain.Hash
	revs  map[string]uint64
	order []string // streams in order of first event
	at    time.Time
}

func newChained(tb testing.TB) *chained {
	return &chained{tb: tb, last: map[string]domain.Hash{}, revs: map[string]uint64{}, at: verifyStart}
}

func (c *chained) add(stream string, ev domain.Event) {
	c.tb.Helper()
	pos := uint64(len(c.envs) + 1)
	env := domain.Envelope{Stream: stream, SchemaVersion: domain.CurrentSchema(ev.EventType()), Position: pos,
		Revision: c.revs[stream], RecordedAt: c.at, Actor: domain.Actor{UserID: "tester", Role: domain.RoleAdmin},
		Source: domain.SourceManual, Event: ev}
	binary.BigEndian.PutUint64(env.ID[8:], pos)
	if err := env.Validate(); err != nil {
		c.tb.Fatalf("invalid fixture envelope %s: %v", ev.EventType(), err)
	}
	one := []domain.Envelope{env}
	if err := domain.Chain(one, c.last[stream]); err != nil {
		c.tb.Fatal(err)
	}
	if _, ok := c.revs[stream]; !ok {
		c.order = append(c.order, stream)
	}
	c.envs = append(c.envs, one[0])
	c.last[stream] = one[0].Hash
	c.revs[stream]++
	c.at = c.at.Add(time.Minute)
}

// seal appends a seal of every unit stream's head.
func (c *chained) seal() {
	c.tb.Helper()
	var heads []domain.StreamHead
	for _, s := range c.order {
		if s == domain.SealStream {
			continue
		}
		heads = append(heads, domain.StreamHead{Stream: s, Revision: c.revs[s] - 1, Hash: c.last[s].String()})
	}
	c.add(domain.SealStream, domain.LogSealed{Heads: heads})
}

// sampleChain is three units, a seal, more events, a second seal and a tail.
func sampleChain(tb testing.TB) []domain.Envelope {
	c := newChained(tb)
	for _, id := range []string{"a", "b", "c"} {
		c.add(domain.UnitStream(id), domain.UnitRegistered{Unit: verifyUnit(id, "75", "udm", "E1")})
	}
	for i := range 3 {
		for _, id := range []string{"a", "b", "c"} {
			c.add(domain.UnitStream(id), domain.AvailabilityDeclared{Available: i, Installed: 10})
		}
	}
	c.seal()
	c.add(domain.UnitStream("a"), domain.CommentSet{Text: "2 places demain"})
	c.add(domain.UnitStream("b"), domain.AvailabilityDeclared{Available: 7, Installed: 10})
	c.seal()
	c.add(domain.UnitStream("c"), domain.AvailabilityDeclared{Available: 1, Installed: 10})
	return c.envs
}

func verifyAll(envs []domain.Envelope) (domain.VerifyResult, error) {
	v := domain.NewVerifier()
	for i := range envs {
		if err := v.Check(&envs[i]); err != nil {
			return v.Result(), err
		}
	}
	return v.Result(), nil
}

// renumber rewrites positions gapless, as someone tampering with a log would.
func renumber(envs []domain.Envelope) []domain.Envelope {
	for i := range envs {
		envs[i].Position = uint64(i + 1)
	}
	return envs
}

// findEvent returns the index of the event of stream at revision.
func findEvent(tb testing.TB, envs []domain.Envelope, stream string, rev uint64) int {
	i := slices.IndexFunc(envs, func(e domain.Envelope) bool { return e.Stream == stream && e.Revision == rev })
	if i < 0 {
		tb.Fatalf("no event %s@%d", stream, rev)
	}
	return i
}

func wantVerifyError(t *testing.T, err error, stream string, rev uint64, reason string) {
	t.Helper()
	var ve *domain.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v, want a *domain.VerifyError", err)
	}
	if ve.Stream != stream || ve.Revision != rev || !strings.Contains(ve.Reason, reason) {
		t.Fatalf("error %q names %s@%d, want %s@%d with %q", err, ve.Stream, ve.Revision, stream, rev, reason)
	}
}

func TestVerifyIntact(t *testing.T) {
	envs := sampleChain(t)
	res, err := verifyAll(envs)
	if err != nil {
		t.Fatal(err)
	}
	v := domain.NewVerifier()
	if n, err := v.CheckBatch(envs); n != len(envs) || err != nil || v.Result() != res {
		t.Fatalf("CheckBatch: %d, %v, %+v; Check gave %+v", n, err, v.Result(), res)
	}
	want := domain.VerifyResult{Events: len(envs), Streams: 4, Seals: 2, LastSeal: uint64(len(envs) - 1), AfterLastSeal: 1}
	if res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	// Positions are not part of the chain: a source without them verifies too.
	for i := range envs {
		envs[i].Position = 0
	}
	if _, err := verifyAll(envs); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyTampered(t *testing.T) {
	a, b, c := domain.UnitStream("a"), domain.UnitStream("b"), domain.UnitStream("c")
	cases := []struct {
		name   string
		tamper func([]domain.Envelope) []domain.Envelope
		stream string
		rev    uint64
		reason string
	}{
		{"payload changed", func(e []domain.Envelope) []domain.Envelope {
			i := findEvent(t, e, b, 2)
			d := e[i].Event.(domain.AvailabilityDeclared)
			d.Available = 9
			e[i].Event = d
			return e
		}, b, 2, domain.ReasonAltered},
		{"envelope field changed", func(e []domain.Envelope) []domain.Envelope {
			e[findEvent(t, e, a, 1)].Actor.UserID = "mallory"
			return e
		}, a, 1, domain.ReasonAltered},
		{"recorded-at changed", func(e []domain.Envelope) []domain.Envelope {
			i := findEvent(t, e, c, 3)
			e[i].RecordedAt = e[i].RecordedAt.Add(time.Nanosecond)
			return e
		}, c, 3, domain.ReasonAltered},
		{"event deleted", func(e []domain.Envelope) []domain.Envelope {
			return renumber(slices.Delete(e, findEvent(t, e, a, 1), findEvent(t, e, a, 1)+1))
		}, a, 2, domain.ReasonMissing},
		{"event deleted, positions left", func(e []domain.Envelope) []domain.Envelope {
			i := findEvent(t, e, a, 1)
			return slices.Delete(e, i, i+1)
		}, b, 1, domain.ReasonMissing + ": position 5 follows 3"},
		{"two events of a stream swapped", func(e []domain.Envelope) []domain.Envelope {
			i, j := findEvent(t, e, c, 1), findEvent(t, e, c, 2)
			e[i], e[j] = e[j], e[i]
			return renumber(e)
		}, c, 2, domain.ReasonMissing},
		{"hashes rewritten after a change", func(e []domain.Envelope) []domain.Envelope {
			// Mallory changes b@1 and rechains b: the chain is intact, the seal is not.
			i := findEvent(t, e, b, 1)
			d := e[i].Event.(domain.AvailabilityDeclared)
			d.Available = 9
			e[i].Event = d
			prev := e[i].PrevHash
			for k := i; k < len(e); k++ {
				if e[k].Stream == b {
					one := []domain.Envelope{e[k]}
					domain.Chain(one, prev)
					e[k], prev = one[0], one[0].Hash
				}
			}
			return e
		}, domain.SealStream, 0, "stream " + b + " at revision 3 is not the one sealed"},
		{"stream dropped before a seal", func(e []domain.Envelope) []domain.Envelope {
			return renumber(slices.DeleteFunc(e, func(x domain.Envelope) bool { return x.Stream == b }))
		}, domain.SealStream, 0, "stream " + b + " missing (sealed at revision 3)"},
		{"stream's tail cut before a seal", func(e []domain.Envelope) []domain.Envelope {
			return renumber(slices.DeleteFunc(e, func(x domain.Envelope) bool {
				return x.Stream == c && (x.Revision == 2 || x.Revision == 3)
			}))
		}, domain.SealStream, 0, "stream " + c + " cut at revision 1, sealed at 3"},
		{"event not chained", func(e []domain.Envelope) []domain.Envelope {
			i := findEvent(t, e, a, 2)
			e[i].Hash, e[i].PrevHash = domain.Hash{}, domain.Hash{}
			return e
		}, a, 2, domain.ReasonNotChained},
		{"seal altered", func(e []domain.Envelope) []domain.Envelope {
			i := findEvent(t, e, domain.SealStream, 1)
			s := e[i].Event.(domain.LogSealed)
			s.Heads = slices.Clone(s.Heads)
			s.Heads[0].Revision--
			e[i].Event = s
			return e
		}, domain.SealStream, 1, domain.ReasonAltered},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			envs := tc.tamper(sampleChain(t))
			_, err := verifyAll(envs)
			wantVerifyError(t, err, tc.stream, tc.rev, tc.reason)
			// CheckBatch finds the same, in one batch or in several.
			for _, size := range []int{len(envs), 3} {
				v := domain.NewVerifier()
				var err error
				for lo := 0; lo < len(envs) && err == nil; lo += size {
					_, err = v.CheckBatch(envs[lo:min(lo+size, len(envs))])
				}
				wantVerifyError(t, err, tc.stream, tc.rev, tc.reason)
			}
		})
	}
}

// Two events of different streams swapped: both chains stay intact, and
// the verifier says so (positions rewritten). Documented in dispo verify --help.
func TestVerifySwapAcrossStreamsGoesUnseen(t *testing.T) {
	envs := sampleChain(t)
	i, j := findEvent(t, envs, domain.UnitStream("a"), 1), findEvent(t, envs, domain.UnitStream("b"), 1)
	envs[i], envs[j] = envs[j], envs[i]
	if _, err := verifyAll(renumber(envs)); err != nil {
		t.Fatal(err)
	}
}

// A seal written while a stream moved on by one event: checked against the
// PrevHash of that event.
func TestVerifySealOneBehind(t *testing.T) {
	c := newChained(t)
	a := domain.UnitStream("a")
	c.add(a, domain.UnitRegistered{Unit: verifyUnit("a", "75", "udm", "E1")})
	head := domain.StreamHead{Stream: a, Revision: 0, Hash: c.last[a].String()}
	c.add(a, domain.AvailabilityDeclared{Available: 1, Installed: 2})
	c.add(domain.SealStream, domain.LogSealed{Heads: []domain.StreamHead{head}})
	if _, err := verifyAll(c.envs); err != nil {
		t.Fatal(err)
	}
	c = newChained(t)
	c.add(a, domain.UnitRegistered{Unit: verifyUnit("a", "75", "udm", "E1")})
	c.add(a, domain.AvailabilityDeclared{Available: 1, Installed: 2})
	head.Hash = domain.Hash{1}.String()
	c.add(domain.SealStream, domain.LogSealed{Heads: []domain.StreamHead{head}})
	_, err := verifyAll(c.envs)
	wantVerifyError(t, err, domain.SealStream, 0, domain.ReasonAltered)
}

func TestVerifyErrorIsSticky(t *testing.T) {
	envs := sampleChain(t)
	envs[0].Hash = domain.Hash{}
	v := domain.NewVerifier()
	first := v.Check(&envs[0])
	if first == nil || v.Check(&envs[1]) != first || v.Err() != first {
		t.Fatal("the first failure is not returned again")
	}
	if !strings.Contains(first.Error(), "position 1: stream unit-a revision 0, event 00000000-0000-0000-0000-000000000001: event not chained") {
		t.Fatalf("message %q", first)
	}
}

// benchChain is n chained declarations over 2,000 units, sealed every 100,000 events.
func benchChain(b *testing.B, n int) []domain.Envelope {
	b.Helper()
	const units = 2000
	envs := make([]domain.Envelope, 0, n)
	last := make([]domain.Hash, units)
	revs := make([]uint64, units)
	streams := make([]string, units)
	for i := range streams {
		streams[i] = domain.UnitStream(fmt.Sprintf("u%05d", i))
	}
	var sealRev uint64
	var sealLast domain.Hash
	at := verifyStart
	for len(envs) < n {
		pos := uint64(len(envs) + 1)
		env := domain.Envelope{Position: pos, SchemaVersion: 1, RecordedAt: at,
			Actor:  domain.Actor{UserID: "resp-0042", Role: domain.RoleResponsable, Establishment: "750000000"},
			Source: domain.SourceAPI, CorrelationID: "0190f8a8-1c2e-7c3d-9e4f-0a1b2c3d4e5f"}
		binary.BigEndian.PutUint64(env.ID[8:], pos)
		var prev *domain.Hash
		if pos%100_000 == 0 {
			heads := make([]domain.StreamHead, 0, units)
			for u, s := range streams {
				if revs[u] > 0 {
					heads = append(heads, domain.StreamHead{Stream: s, Revision: revs[u] - 1, Hash: last[u].String()})
				}
			}
			env.Stream, env.Revision, env.Event, prev = domain.SealStream, sealRev, domain.LogSealed{Heads: heads}, &sealLast
			sealRev++
		} else {
			u := int(pos) % units
			env.Stream, env.Revision, prev = streams[u], revs[u], &last[u]
			env.Event = domain.AvailabilityDeclared{Available: int(pos) % 7, Installed: 20, ClosedPlaces: int(pos) % 3}
			revs[u]++
		}
		one := []domain.Envelope{env}
		if err := domain.Chain(one, *prev); err != nil {
			b.Fatal(err)
		}
		*prev = one[0].Hash
		envs = append(envs, one[0])
		at = at.Add(time.Second)
	}
	return envs
}

// BenchmarkVerify checks 1,000,000 chained events, ten seals among them.
func BenchmarkVerify(b *testing.B) {
	envs := benchChain(b, 1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v := domain.NewVerifier()
		for i := range envs {
			if err := v.Check(&envs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportVerified(b, b.N*len(envs))
}

// BenchmarkVerifyBatch is BenchmarkVerify through CheckBatch (4,096 events a
// batch, hashed on every core).
func BenchmarkVerifyBatch(b *testing.B) {
	envs := benchChain(b, 1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v := domain.NewVerifier()
		for lo := 0; lo < len(envs); lo += 4096 {
			if _, err := v.CheckBatch(envs[lo:min(lo+4096, len(envs))]); err != nil {
				b.Fatal(err)
			}
		}
		if v.Result().Events != len(envs) {
			b.Fatal("not every event checked")
		}
	}
	reportVerified(b, b.N*len(envs))
}
