package projections

import (
	"fmt"
	"testing"
	"time"

	"dispo/domain"
)

// benchDirectory registers n units over Île-de-France and the dialysis
// modalities, one in ten pooled by pairs, and declares once for each. It
// returns the ledger and one declaration envelope per unit.
func benchDirectory(b *testing.B, n int) (*ledger, []*domain.Envelope) {
	b.Helper()
	l := newLedger(b)
	decls := make([]*domain.Envelope, n)
	for i := range n {
		id := fmt.Sprintf("u%05d", i)
		l.register(id, domain.IleDeFrance[i%len(domain.IleDeFrance)], domain.DialysisTypes[i%len(domain.DialysisTypes)], fmt.Sprintf("Etablissement %03d", i/4))
		if i%10 < 2 {
			l.pool(id, fmt.Sprintf("P%d", i/10))
		}
		if i%17 == 0 {
			l.unitEvent(id, domain.CommentSet{Text: "1 place le 11/03 à 10h"})
		}
		decls[i] = l.envelope(domain.UnitStream(id), domain.AvailabilityDeclared{Available: i % 5, Installed: 20, ClosedPlaces: i % 3})
		l.a.Apply(decls[i])
		if i%29 == 0 {
			l.close(id, "travaux", true)
		}
	}
	return l, decls
}

func reportRate(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApply folds declarations over 2,000 units, the log's bulk.
func BenchmarkApply(b *testing.B) {
	l, decls := benchDirectory(b, 2000)
	a, pos := l.a, l.pos
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		env := decls[i%len(decls)]
		pos++
		env.Position = pos
		a.Apply(env)
		i++
	}
	reportRate(b, b.N)
}

// replayLog is 2,000 registrations, then a ring of events that any number
// of turns keeps valid: each unit declares, comments, joins and leaves a
// pool, closes and reopens, changes details back and forth.
func replayLog(b *testing.B) (regs, ring []*domain.Envelope) {
	b.Helper()
	l := newLedger(b)
	l.a = nil
	const n = 2000
	for i := range n {
		u := mkUnit(fmt.Sprintf("u%05d", i), domain.IleDeFrance[i%8], domain.DialysisTypes[i%5], fmt.Sprintf("E%03d", i/4))
		regs = append(regs, l.envelope(domain.UnitStream(u.ID), domain.UnitRegistered{Unit: u}))
	}
	cycle := func(i int, k int) domain.Event {
		switch k {
		case 3:
			return domain.CommentSet{Text: "1 place le 11/03 à 10h"}
		case 5:
			return domain.UnitPooled{Pool: fmt.Sprintf("P%d", i/3)}
		case 7:
			return domain.UnitUnpooled{}
		case 9:
			return domain.UnitClosed{Reason: "travaux", Start: t0, Reopenable: true}
		case 10:
			return domain.UnitReopened{}
		case 12:
			return domain.CommentCleared{}
		case 14, 15:
			u := mkUnit(fmt.Sprintf("u%05d", i), domain.IleDeFrance[i%8], domain.DialysisTypes[(i+k)%5], fmt.Sprintf("E%03d", i/4))
			return domain.UnitDetailsChanged{Unit: u}
		}
		return domain.AvailabilityDeclared{Available: (i + k) % 4, Installed: 20, ClosedPlaces: k % 3}
	}
	// 40 events per unit and turn, 30 of them declarations.
	for k := range 40 {
		for i := range n {
			ring = append(ring, l.envelope(domain.UnitStream(fmt.Sprintf("u%05d", i)), cycle(i, k%20)))
		}
	}
	return regs, ring
}

// BenchmarkReplay rebuilds the fold from 1,000,000 events, three quarters
// of them declarations, as a restart does.
func BenchmarkReplay(b *testing.B) {
	const total = 1_000_000
	regs, ring := replayLog(b)
	b.ReportAllocs()
	for b.Loop() {
		a := NewAvailability()
		var pos uint64
		for _, env := range regs {
			pos++
			env.Position = pos
			a.Apply(env)
		}
		for i := 0; pos < total; i++ {
			env := ring[i%len(ring)]
			pos++
			env.Position = pos
			a.Apply(env)
		}
	}
	reportRate(b, total*b.N)
}

func BenchmarkMatrix(b *testing.B) {
	l, _ := benchDirectory(b, 180)
	b.ReportAllocs()
	for b.Loop() {
		l.a.Matrix()
	}
}

func BenchmarkDetail(b *testing.B) {
	l, _ := benchDirectory(b, 180)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.a.Detail("dialyse", "77"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnits(b *testing.B) {
	l, _ := benchDirectory(b, 180)
	b.ReportAllocs()
	for b.Loop() {
		l.a.Units()
	}
}

func BenchmarkFreshness(b *testing.B) {
	l, _ := benchDirectory(b, 180)
	now := t0.Add(8 * 24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		l.a.Freshness(now)
	}
}
