package projections_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
	"dispo/domain"
	"dispo/projections"
)

var parisTZ = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a Paris wall-clock instant.
func at(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, parisTZ) }

// trendLog builds a log by hand, event by event.
type trendLog struct {
	envs []domain.Envelope
	revs map[string]uint64
}

func newTrendLog() *trendLog { return &trendLog{revs: map[string]uint64{}} }

func (l *trendLog) add(when time.Time, unit string, ev domain.Event) {
	stream := domain.UnitStream(unit)
	env := domain.Envelope{Stream: stream, SchemaVersion: 1, Position: uint64(len(l.envs) + 1), Revision: l.revs[stream],
		RecordedAt: when.UTC(), Actor: domain.Actor{UserID: "tester", Role: domain.RoleAdmin}, Source: domain.SourceManual, Event: ev}
	binary.BigEndian.PutUint64(env.ID[8:], env.Position)
	l.revs[stream]++
	l.envs = append(l.envs, env)
}

func (l *trendLog) register(when time.Time, id, dept, typ string) {
	l.add(when, id, domain.UnitRegistered{Unit: trendUnit(id, dept, typ)})
}

func trendUnit(id, dept, typ string) domain.Unit {
	return domain.Unit{ID: id, FINESS: (dept + "0000000")[:9], Establishment: "Etablissement " + dept,
		Department: dept, Type: typ, Name: "UO " + id}
}

func (l *trendLog) declare(when time.Time, id string, available, installed int) {
	l.add(when, id, domain.AvailabilityDeclared{Available: available, Installed: installed})
}

func (l *trendLog) close(when time.Time, id string) {
	l.add(when, id, domain.UnitClosed{Reason: "travaux", Start: when.UTC(), Reopenable: true})
}

func (l *trendLog) fold() *projections.Trends {
	tr := projections.NewTrends()
	for i := range l.envs {
		tr.Apply(&l.envs[i])
	}
	return tr
}

func weekly(t *testing.T, tr *projections.Trends, q projections.TrendQuery) projections.TrendReport {
	t.Helper()
	rep, err := tr.Weekly(q)
	if err != nil {
		t.Fatalf("Weekly(%+v): %v", q, err)
	}
	return rep
}

// trendRow returns the row of dept and type ("" for all) of week w.
func trendRow(t *testing.T, w projections.TrendWeek, dept, typ string) projections.TrendRow {
	t.Helper()
	for _, r := range w.Rows {
		if r.Department == dept && r.Type == typ {
			return r
		}
	}
	t.Fatalf("week %s has no row %q/%q", w.Week, dept, typ)
	return projections.TrendRow{}
}

func num(p *int64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func rate(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%.6f", *p)
}

func missedIDs(w projections.TrendWeek) []string {
	ids := []string{}
	for _, m := range w.Missed {
		ids = append(ids, m.UnitID)
	}
	return ids
}

// want is a row's expected figures; nil pointers and NaN mean "nil".
type want struct {
	mean, installed   float64
	min, max, end     string // "nil" or the number
	decls             int
	declared, expects int
	compliance        string // "nil" or %.6f
	daysClosed        float64
}

func check(t *testing.T, w projections.TrendWeek, dept, typ string, x want) {
	t.Helper()
	r := trendRow(t, w, dept, typ)
	where := fmt.Sprintf("%s %q/%q", w.Week, dept, typ)
	if math.Abs(r.MeanAvailable-x.mean) > 1e-9 || math.Abs(r.MeanInstalled-x.installed) > 1e-9 {
		t.Errorf("%s: mean available %.9f installed %.9f, want %.9f %.9f", where, r.MeanAvailable, r.MeanInstalled, x.mean, x.installed)
	}
	if got := num(r.MinAvailable) + " " + num(r.MaxAvailable) + " " + num(r.EndAvailable); got != x.min+" "+x.max+" "+x.end {
		t.Errorf("%s: min max end %s, want %s %s %s", where, got, x.min, x.max, x.end)
	}
	if r.Declarations != x.decls || r.UnitsDeclared != x.declared || r.UnitsExpected != x.expects || r.Missed != x.expects-x.declared {
		t.Errorf("%s: declarations %d, units declared %d / expected %d, missed %d; want %d, %d / %d", where,
			r.Declarations, r.UnitsDeclared, r.UnitsExpected, r.Missed, x.decls, x.declared, x.expects)
	}
	if got := rate(r.Compliance); got != x.compliance {
		t.Errorf("%s: compliance %s, want %s", where, got, x.compliance)
	}
	if math.Abs(r.DaysClosed-x.daysClosed) > 1e-9 {
		t.Errorf("%s: days closed %.9f, want %.9f", where, r.DaysClosed, x.daysClosed)
	}
}

// One unit declares 10 on Monday 00:00 and 0 on Thursday 00:00: 72 hours
// at 10 in a week of 168, 169 (end of summer time) or 167 hours (start).
func TestTrendsWeekLengths(t *testing.T) {
	for _, tc := range []struct {
		monday time.Time
		hours  float64
	}{
		{at(2025, 10, 6, 0), 168},
		{at(2025, 10, 20, 0), 169}, // holds Sunday 26 October 2025, 25 hours
		{at(2026, 3, 23, 0), 167},  // holds Sunday 29 March 2026, 23 hours
	} {
		t.Run(tc.monday.Format(time.DateOnly), func(t *testing.T) {
			l := newTrendLog()
			l.register(tc.monday, "u1", "77", "udm")
			l.declare(tc.monday, "u1", 10, 20)
			l.declare(tc.monday.AddDate(0, 0, 3), "u1", 0, 20) // Thursday 00:00, 72 hours later
			tr := l.fold()
			next := tc.monday.AddDate(0, 0, 7)
			// Now is the next Monday 00:00: the week is over, the next one
			// has not begun and is left out although asked for.
			rep := weekly(t, tr, projections.TrendQuery{From: tc.monday.Format(time.DateOnly), To: next.Format(time.DateOnly), Now: next})
			if len(rep.Weeks) != 1 {
				t.Fatalf("got %d weeks, want 1", len(rep.Weeks))
			}
			w := rep.Weeks[0]
			if w.Hours != tc.hours || w.ElapsedHours != tc.hours || w.Open || !w.Start.Equal(tc.monday) || !w.End.Equal(next) {
				t.Fatalf("week %s: %v to %v, %v hours (%v elapsed), open %v; want %v hours, closed", w.Week, w.Start, w.End, w.Hours, w.ElapsedHours, w.Open, tc.hours)
			}
			x := want{mean: 10 * 72 / tc.hours, installed: 20, min: "0", max: "10", end: "0", decls: 2, declared: 1, expects: 1, compliance: "1.000000"}
			for _, row := range [][2]string{{"", ""}, {"77", ""}, {"", "udm"}, {"77", "udm"}} {
				check(t, w, row[0], row[1], x)
			}
		})
	}
}

// The week after, nothing is declared: the last values hold all week and
// the unit missed its declaration.
func TestTrendsQuietWeek(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 10, 6, 0), "u1", "77", "udm")
	l.declare(at(2025, 10, 6, 0), "u1", 10, 20)
	l.declare(at(2025, 10, 9, 0), "u1", 0, 20)
	rep := weekly(t, l.fold(), projections.TrendQuery{From: "2025-W41", To: "2025-10-13", Now: at(2025, 10, 20, 0)})
	if len(rep.Weeks) != 2 || rep.Weeks[1].Week != "2025-W42" {
		t.Fatalf("weeks %+v", rep.Weeks)
	}
	w := rep.Weeks[1]
	check(t, w, "", "", want{mean: 0, installed: 20, min: "0", max: "0", end: "0", expects: 1, compliance: "0.000000"})
	if got := missedIDs(w); !slices.Equal(got, []string{"u1"}) {
		t.Fatalf("missed %v, want [u1]", got)
	}
}

// A closure counts 0 available while it lasts, installed still counted,
// and its days; across the end of summer time a Saturday-to-Monday
// closure lasts 49 hours.
func TestTrendsClosure(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 10, 6, 0), "u1", "91", "autodialyse")
	l.declare(at(2025, 10, 6, 0), "u1", 10, 20)
	l.close(at(2025, 10, 8, 0), "u1") // Wednesday
	l.add(at(2025, 10, 10, 0), "u1", domain.UnitReopened{})
	l.declare(at(2025, 10, 10, 0), "u1", 5, 20) // Friday: 48 h at 10, 48 h closed, 72 h at 5

	l.close(at(2025, 10, 25, 0), "u1") // Saturday of the 169-hour week
	l.add(at(2025, 10, 27, 0), "u1", domain.UnitReopened{})
	l.declare(at(2025, 10, 27, 0), "u1", 5, 20)
	rep := weekly(t, l.fold(), projections.TrendQuery{From: "2025-W41", To: "2025-W44", Now: at(2025, 11, 3, 0)})
	if len(rep.Weeks) != 4 {
		t.Fatalf("got %d weeks", len(rep.Weeks))
	}
	check(t, rep.Weeks[0], "", "", want{mean: (10*48 + 5*72) / 168.0, installed: 20, min: "0", max: "10", end: "5",
		decls: 2, declared: 1, expects: 1, compliance: "1.000000", daysClosed: 2})
	// W43: 5 from Monday to Saturday (120 h), then closed: 49 hours.
	check(t, rep.Weeks[2], "91", "autodialyse", want{mean: 5 * 120 / 169.0, installed: 20, min: "0", max: "5", end: "0",
		expects: 1, compliance: "0.000000", daysClosed: 49.0 / 24})
	// W44: reopened at its first instant, with a declaration.
	check(t, rep.Weeks[3], "", "", want{mean: 5, installed: 20, min: "5", max: "5", end: "5", decls: 1, declared: 1, expects: 1, compliance: "1.000000"})
}

// A pool's count is counted once per group while at least one of its
// open members is in the group; a closed member stops bringing it to its
// own groups, not to the others'.
func TestTrendsPool(t *testing.T) {
	l := newTrendLog()
	mon := at(2025, 10, 6, 0)
	l.register(mon, "a", "75", "udm")
	l.register(mon, "b", "75", "centre_lourd")
	l.register(mon, "c", "77", "udm")
	l.add(mon, "a", domain.UnitPooled{Pool: "P1"})
	l.add(mon, "b", domain.UnitPooled{Pool: "P1"})
	l.declare(mon, "a", 6, 10) // the pool's count: 6
	l.declare(mon, "b", 6, 12)
	l.declare(mon, "c", 3, 5)
	l.close(at(2025, 10, 8, 0), "b")           // Wednesday
	l.declare(at(2025, 10, 10, 0), "a", 4, 10) // Friday: the pool's count is 4
	w := weekly(t, l.fold(), projections.TrendQuery{From: "2025-W41", To: "2025-W41", Now: at(2025, 10, 13, 0)}).Weeks[0]

	// Region: 6 (once) + 3 for 96 h, then 4 + 3 for 72 h.
	check(t, w, "", "", want{mean: (9*96 + 7*72) / 168.0, installed: 27, min: "7", max: "9", end: "7",
		decls: 4, declared: 3, expects: 3, compliance: "1.000000", daysClosed: 5})
	check(t, w, "75", "", want{mean: (6*96 + 4*72) / 168.0, installed: 22, min: "4", max: "6", end: "4",
		decls: 3, declared: 2, expects: 2, compliance: "1.000000", daysClosed: 5})
	check(t, w, "75", "udm", want{mean: (6*96 + 4*72) / 168.0, installed: 10, min: "4", max: "6", end: "4",
		decls: 2, declared: 1, expects: 1, compliance: "1.000000"})
	// b brings the pool's 6 until it closes on Wednesday (48 h), then 0.
	check(t, w, "75", "centre_lourd", want{mean: 6 * 48 / 168.0, installed: 12, min: "0", max: "6", end: "0",
		decls: 1, declared: 1, expects: 1, compliance: "1.000000", daysClosed: 5})
	check(t, w, "", "udm", want{mean: (9*96 + 7*72) / 168.0, installed: 15, min: "7", max: "9", end: "7",
		decls: 3, declared: 2, expects: 2, compliance: "1.000000"})
}

// Compliance: the expected units are those registered and open at some
// moment of the week; a unit closed all week is not expected, one
// registered during the week is; units count in the means from their
// first declaration only.
func TestTrendsCompliance(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 9, 29, 0), "u1", "75", "udm")
	l.register(at(2025, 9, 29, 0), "u2", "75", "udm")
	l.register(at(2025, 9, 29, 0), "u3", "92", "centre_lourd")
	l.declare(at(2025, 9, 29, 0), "u3", 2, 2)
	l.add(at(2025, 10, 3, 0), "u3", domain.UnitClosed{Reason: "fermeture", Start: at(2025, 10, 3, 0).UTC()}) // Friday, for good
	l.declare(at(2025, 10, 6, 10), "u1", 5, 8)                                                               // first declaration, Monday 10:00
	l.register(at(2025, 10, 8, 0), "u4", "75", "udm")
	rep := weekly(t, l.fold(), projections.TrendQuery{From: "2025-09-29", To: "2025-10-06", Now: at(2025, 10, 13, 0)})

	w40, w41 := rep.Weeks[0], rep.Weeks[1]
	// u3 holds 2 from Monday to its closure on Friday (96 h), then 0.
	check(t, w40, "", "", want{mean: 2 * 96 / 168.0, installed: 2, min: "0", max: "2", end: "0",
		decls: 1, declared: 1, expects: 3, compliance: fmt.Sprintf("%.6f", 1.0/3), daysClosed: 3})
	if got := missedIDs(w40); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("W40 missed %v", got)
	}
	check(t, w41, "", "", want{mean: 5 * 158 / 168.0, installed: (8*158 + 2*168) / 168.0, min: "0", max: "5", end: "5",
		decls: 1, declared: 1, expects: 3, compliance: fmt.Sprintf("%.6f", 1.0/3), daysClosed: 7})
	check(t, w41, "92", "", want{mean: 0, installed: 2, min: "0", max: "0", end: "0", compliance: "nil", daysClosed: 7})
	if got := missedIDs(w41); !slices.Equal(got, []string{"u2", "u4"}) {
		t.Errorf("W41 missed %v", got)
	}
	// Filtered: the missed list follows the filter.
	rep = weekly(t, l.fold(), projections.TrendQuery{From: "2025-10-06", To: "2025-10-06", Department: "92", Now: at(2025, 10, 13, 0)})
	if got := missedIDs(rep.Weeks[0]); len(got) != 0 {
		t.Errorf("92 missed %v", got)
	}
	// A week before the log: nothing known, no figure made up.
	rep = weekly(t, l.fold(), projections.TrendQuery{From: "2025-09-22", To: "2025-09-22", Now: at(2025, 10, 13, 0)})
	check(t, rep.Weeks[0], "", "", want{min: "nil", max: "nil", end: "nil", compliance: "nil"})
}

// The open week runs to now; weeks after the last event are the last
// values held; a now before the last event is that event's time.
func TestTrendsOpenWeek(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 10, 6, 0), "u1", "77", "udm")
	l.declare(at(2025, 10, 6, 0), "u1", 10, 20)
	l.declare(at(2025, 10, 8, 0), "u1", 4, 20) // Wednesday 00:00
	tr := l.fold()

	rep := weekly(t, tr, projections.TrendQuery{From: "2025-W41", To: "2025-W41", Now: at(2025, 10, 8, 12)})
	w := rep.Weeks[0]
	if !w.Open || w.ElapsedHours != 60 || w.Hours != 168 {
		t.Fatalf("open %v, %v of %v hours; want open, 60 of 168", w.Open, w.ElapsedHours, w.Hours)
	}
	check(t, w, "", "", want{mean: (10*48 + 4*12) / 60.0, installed: 20, min: "4", max: "10", end: "4", decls: 2, declared: 1, expects: 1, compliance: "1.000000"})

	// Tuesday of the next week: W41 is over, W42 open for 24 hours.
	rep = weekly(t, tr, projections.TrendQuery{From: "2025-W41", To: "2025-W45", Now: at(2025, 10, 14, 0)})
	if len(rep.Weeks) != 2 || rep.Weeks[0].Open || !rep.Weeks[1].Open || rep.Weeks[1].ElapsedHours != 24 {
		t.Fatalf("weeks %+v", rep.Weeks)
	}
	check(t, rep.Weeks[0], "", "", want{mean: (10*48 + 4*120) / 168.0, installed: 20, min: "4", max: "10", end: "4", decls: 2, declared: 1, expects: 1, compliance: "1.000000"})
	check(t, rep.Weeks[1], "", "", want{mean: 4, installed: 20, min: "4", max: "4", end: "4", expects: 1, compliance: "0.000000"})
	if got := missedIDs(rep.Weeks[1]); !slices.Equal(got, []string{"u1"}) {
		t.Fatalf("missed %v", got)
	}

	// Monday noon is before the last event (Wednesday 00:00): taken as Wednesday 00:00.
	rep = weekly(t, tr, projections.TrendQuery{From: "2025-W41", To: "2025-W41", Now: at(2025, 10, 6, 12)})
	if !rep.Now.Equal(at(2025, 10, 8, 0)) || rep.Weeks[0].ElapsedHours != 48 {
		t.Fatalf("now %v, elapsed %v", rep.Now, rep.Weeks[0].ElapsedHours)
	}
	check(t, rep.Weeks[0], "", "", want{mean: 10, installed: 20, min: "10", max: "10", end: "4", decls: 2, declared: 1, expects: 1, compliance: "1.000000"})

	// Defaults: the 13 weeks up to the one holding now.
	rep = weekly(t, tr, projections.TrendQuery{Now: at(2025, 10, 14, 0)})
	if rep.From != "2025-W30" || rep.To != "2025-W42" || len(rep.Weeks) != 13 {
		t.Fatalf("defaults: %s to %s, %d weeks", rep.From, rep.To, len(rep.Weeks))
	}
}

// A unit that changes department moves its totals at that instant; for
// compliance it counts where it ends the week.
func TestTrendsUnitMoves(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 10, 6, 0), "u1", "77", "udm")
	l.declare(at(2025, 10, 6, 0), "u1", 10, 10)
	l.add(at(2025, 10, 9, 0), "u1", domain.UnitDetailsChanged{Unit: trendUnit("u1", "78", "udm")})
	w := weekly(t, l.fold(), projections.TrendQuery{From: "2025-W41", To: "2025-W41", Now: at(2025, 10, 13, 0)}).Weeks[0]
	check(t, w, "", "", want{mean: 10, installed: 10, min: "10", max: "10", end: "10", decls: 1, declared: 1, expects: 1, compliance: "1.000000"})
	check(t, w, "77", "", want{mean: 10 * 72 / 168.0, installed: 10 * 72 / 168.0, min: "10", max: "10", end: "nil", compliance: "nil"})
	check(t, w, "78", "udm", want{mean: 10 * 96 / 168.0, installed: 10 * 96 / 168.0, min: "10", max: "10", end: "10", decls: 1, declared: 1, expects: 1, compliance: "1.000000"})
}

func TestTrendsBadQueries(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 10, 6, 0), "u1", "77", "udm")
	tr := l.fold()
	now := at(2025, 10, 8, 0)
	for _, tc := range []struct {
		q    projections.TrendQuery
		want string
	}{
		{projections.TrendQuery{From: "2025-13-01"}, "n'est ni une date"},
		{projections.TrendQuery{From: "2025-02-30"}, "n'est ni une date"},
		{projections.TrendQuery{To: "2025-10-6"}, "n'est ni une date"},
		{projections.TrendQuery{To: "06/10/2025"}, "n'est ni une date"},
		{projections.TrendQuery{From: "2025-W1"}, "n'est ni une date"},
		{projections.TrendQuery{From: "2025-W+1"}, "n'est ni une date"},
		{projections.TrendQuery{From: "+025-W01"}, "n'est ni une date"},
		{projections.TrendQuery{From: "2025-W00"}, "pas de semaine ISO 0"},
		{projections.TrendQuery{From: "2025-W53"}, "pas de semaine ISO 53"},
		{projections.TrendQuery{From: "1999-12-31"}, "hors des dates possibles"},
		{projections.TrendQuery{From: "0000-01-01"}, "hors des dates possibles"},
		{projections.TrendQuery{To: "2200-01-01"}, "hors des dates possibles"},
		{projections.TrendQuery{From: "2025-10-13", To: "2025-10-06"}, "from (2025-W42) est après to (2025-W41)"},
		{projections.TrendQuery{From: "2026-01-05"}, "to vaut par défaut la semaine en cours"},
		{projections.TrendQuery{From: "2010-01-04", To: "2025-01-06"}, "plus de 10 ans"},
		{projections.TrendQuery{From: "2015-01-05", To: "2025-W01"}, "plus de 10 ans"},
		{projections.TrendQuery{Department: "99x"}, `département "99x" inconnu`},
		{projections.TrendQuery{Department: "20"}, `département "20" inconnu`},
		{projections.TrendQuery{Type: "dialyse"}, `type d'unité "dialyse" inconnu`},
	} {
		tc.q.Now = now
		_, err := tr.Weekly(tc.q)
		if domain.ErrorCode(err) != domain.EInvalid || !strings.Contains(domain.ErrorMessage(err), tc.want) {
			t.Errorf("Weekly(%+v): %v; want invalid: ...%s...", tc.q, err, tc.want)
		}
	}
	// Exactly ten years is allowed; so is 2026-W53 (2026 has 53 ISO weeks).
	for _, q := range []projections.TrendQuery{{From: "2015-01-05", To: "2024-W52"}, {From: "2026-W53", To: "2026-W53"}} {
		q.Now = now
		if _, err := tr.Weekly(q); err != nil {
			t.Errorf("Weekly(%+v): %v", q, err)
		}
	}
	if _, err := projections.NewTrends().Weekly(projections.TrendQuery{}); domain.ErrorCode(err) != domain.EInvalid {
		t.Errorf("empty fold, no now: %v", err)
	}
}

// refUnit is a unit of the fixture as the reference reads it: its raw events.
type refUnit struct {
	id, dept, typ string
	evs           []refEvent
}

type refEvent struct {
	at                   time.Time
	kind                 string // reg, decl, close, reopen
	available, installed int
}

type refState struct {
	registered, declared, closed bool
	available, installed         int
}

// state folds the unit's events recorded at or before x.
func (u *refUnit) state(x time.Time) refState {
	var s refState
	for _, e := range u.evs {
		if e.at.After(x) {
			break
		}
		switch e.kind {
		case "reg":
			s.registered = true
		case "decl":
			s.declared, s.available, s.installed = true, e.available, e.installed
		case "close":
			s.closed, s.available = true, 0 // the domain's rule: a closure zeroes the declared count
		case "reopen":
			s.closed = false
		}
	}
	return s
}

// refUnits reads the units of dept (and of typ, if not "") from raw
// envelopes; it fails on a pooled one, which the reference does not model.
func refUnits(t *testing.T, evs []domain.Envelope, dept, typ string) []*refUnit {
	t.Helper()
	byID := map[string]*refUnit{}
	var units []*refUnit
	for _, env := range evs {
		id, _ := domain.UnitIDFromStream(env.Stream)
		if reg, ok := env.Event.(domain.UnitRegistered); ok && reg.Department == dept && (typ == "" || reg.Type == typ) {
			byID[id] = &refUnit{id: id, dept: reg.Department, typ: reg.Type}
			units = append(units, byID[id])
		}
		u := byID[id]
		if u == nil {
			continue
		}
		e := refEvent{at: env.RecordedAt}
		switch ev := env.Event.(type) {
		case domain.UnitRegistered:
			e.kind = "reg"
		case domain.AvailabilityDeclared:
			e.kind, e.available, e.installed = "decl", ev.Available, ev.Installed
		case domain.UnitClosed:
			e.kind = "close"
		case domain.UnitReopened:
			e.kind = "reopen"
		case domain.UnitDetailsChanged:
			if ev.Department != u.dept || ev.Type != u.typ {
				t.Fatalf("%s moves: the reference does not model it", id)
			}
			continue
		case domain.UnitPooled:
			t.Fatalf("%s is pooled: the reference does not model pools", id)
		default:
			continue
		}
		u.evs = append(u.evs, e)
	}
	return units
}

// refWeek computes a week's figures for units the obvious way: cut the
// week at every event, sum the units' states over each piece.
func refWeek(units []*refUnit, start, end time.Time) (want, []string) {
	points := []time.Time{start}
	for _, u := range units {
		for _, e := range u.evs {
			if e.at.After(start) && e.at.Before(end) {
				points = append(points, e.at)
			}
		}
	}
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	points = slices.CompactFunc(points, func(a, b time.Time) bool { return a.Equal(b) })
	length := end.Sub(start).Hours()
	var x want
	minA, maxA, endA, covered := 0, 0, -1, false
	for i, p := range points {
		next := end
		if i+1 < len(points) {
			next = points[i+1]
		}
		hours := next.Sub(p).Hours()
		available, installed, counted, closed := 0, 0, 0, 0
		for _, u := range units {
			s := u.state(p)
			if s.registered && s.closed {
				closed++
			}
			if !s.registered || !s.declared {
				continue
			}
			counted++
			installed += s.installed
			if !s.closed {
				available += s.available
			}
		}
		x.mean += float64(available) * hours / length
		x.installed += float64(installed) * hours / length
		x.daysClosed += float64(closed) * hours / 24
		if counted > 0 && hours > 0 {
			if !covered {
				minA, maxA, covered = available, available, true
			}
			minA, maxA = min(minA, available), max(maxA, available)
		}
		endA = -1
		if counted > 0 {
			endA = available
		}
	}
	x.min, x.max, x.end = "nil", "nil", "nil"
	if covered {
		x.min, x.max = fmt.Sprint(minA), fmt.Sprint(maxA)
	}
	if endA >= 0 {
		x.end = fmt.Sprint(endA)
	}
	var missed []string
	for _, u := range units {
		expected, declared := false, false
		for _, p := range points {
			if s := u.state(p); s.registered && !s.closed {
				expected = true
			}
		}
		for _, e := range u.evs {
			if e.kind == "decl" && !e.at.Before(start) && e.at.Before(end) {
				x.decls++
				declared = true
			}
		}
		if expected {
			x.expects++
			if declared {
				x.declared++
			} else {
				missed = append(missed, u.id)
			}
		}
	}
	x.compliance = "nil"
	if x.expects > 0 {
		x.compliance = fmt.Sprintf("%.6f", float64(x.declared)/float64(x.expects))
	}
	slices.Sort(missed)
	return x, missed
}

// The Île-de-France fixture against the reference, for Essonne (91) and
// its autodialysis units, among which 911496615-02, closed on Thursday
// 23 October 2025 (in the 169-hour week) and reopened on Monday 3 November.
func TestTrendsFixtureAgainstReference(t *testing.T) {
	evs := readFixture(t, "idf-dialyse.jsonl")
	tr := projections.NewTrends()
	for i := range evs {
		tr.Apply(&evs[i])
	}
	end := at(2026, 3, 30, 0) // the window's end
	for _, tc := range []struct{ dept, typ string }{{"91", ""}, {"91", "autodialyse"}} {
		units := refUnits(t, evs, tc.dept, tc.typ)
		rep := weekly(t, tr, projections.TrendQuery{From: "2025-09-29", To: "2026-03-23", Department: tc.dept, Type: tc.typ, Now: end})
		if len(rep.Weeks) != 26 {
			t.Fatalf("got %d weeks, want the window's 26", len(rep.Weeks))
		}
		for _, w := range rep.Weeks {
			x, missed := refWeek(units, w.Start, w.End)
			r := trendRow(t, w, tc.dept, tc.typ)
			where := fmt.Sprintf("%s %s/%s", w.Week, tc.dept, tc.typ)
			// Event times are taken to the millisecond: a few ms of a place.
			if math.Abs(r.MeanAvailable-x.mean) > 1e-6 || math.Abs(r.MeanInstalled-x.installed) > 1e-6 || math.Abs(r.DaysClosed-x.daysClosed) > 1e-6 {
				t.Errorf("%s: means %.9f %.9f, days closed %.9f; reference %.9f %.9f %.9f", where,
					r.MeanAvailable, r.MeanInstalled, r.DaysClosed, x.mean, x.installed, x.daysClosed)
			}
			x.mean, x.installed, x.daysClosed = r.MeanAvailable, r.MeanInstalled, r.DaysClosed
			check(t, w, tc.dept, tc.typ, x)
			if got := missedIDs(w); !slices.Equal(got, missed) {
				t.Errorf("%s: missed %v, reference %v", where, got, missed)
			}
		}
		// The weeks the reference was written for, by hand.
		byWeek := map[string]projections.TrendWeek{}
		for _, w := range rep.Weeks {
			byWeek[w.Week] = w
		}
		if h := byWeek["2025-W43"].Hours; h != 169 {
			t.Errorf("2025-W43 lasts %v hours, want 169", h)
		}
		if h := byWeek["2026-W13"].Hours; h != 167 {
			t.Errorf("2026-W13 lasts %v hours, want 167", h)
		}
		if tc.typ == "autodialyse" {
			// Closed from Thursday 23 October 09:12:53.897 UTC to the end of
			// that 169-hour week, all of the next, and until Monday
			// 3 November 10:42:20.225 UTC.
			closedAt := time.Date(2025, 10, 23, 9, 12, 53, 897_000_000, time.UTC)
			reopened := time.Date(2025, 11, 3, 10, 42, 20, 225_000_000, time.UTC)
			for week, days := range map[string]float64{
				"2025-W43": at(2025, 10, 27, 0).Sub(closedAt).Hours() / 24,
				"2025-W44": 7,
				"2025-W45": reopened.Sub(at(2025, 11, 3, 0)).Hours() / 24,
			} {
				if got := trendRow(t, byWeek[week], "91", "autodialyse").DaysClosed; math.Abs(got-days) > 1e-9 {
					t.Errorf("%s: %.9f days closed, want %.9f", week, got, days)
				}
			}
		}
	}
}

// renderTrends writes a report as text, three decimals, for the golden file.
func renderTrends(rep projections.TrendReport, scopes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "from %s to %s, now %s, position %d\n", rep.From, rep.To, rep.Now.Format(time.RFC3339), rep.Position)
	for _, w := range rep.Weeks {
		fmt.Fprintf(&b, "\n%s  %s -> %s  %gh", w.Week, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), w.Hours)
		if w.Open {
			fmt.Fprintf(&b, "  open, %.3fh elapsed", w.ElapsedHours)
		}
		b.WriteString("\n")
		for _, r := range w.Rows {
			if len(scopes) > 0 && !slices.Contains(scopes, r.Scope) {
				continue
			}
			fmt.Fprintf(&b, "  %-3s %-12s avail %8.3f inst %8.3f min %-4s max %-4s end %-4s decl %4d units %3d/%-3d rate %s closed %.3f\n",
				r.Department, r.Type, r.MeanAvailable, r.MeanInstalled, num(r.MinAvailable), num(r.MaxAvailable), num(r.EndAvailable),
				r.Declarations, r.UnitsDeclared, r.UnitsExpected, rate(r.Compliance), r.DaysClosed)
		}
		for _, m := range w.Missed {
			fmt.Fprintf(&b, "  missed %s %s %s %s\n", m.Department, m.UnitID, m.Type, m.Name)
		}
	}
	return b.String()
}

// The fixture's 26 weeks, region, departments and types (the reference
// test covers the cells of 91). The CSV presentation is httpapi's.
func TestTrendsGolden(t *testing.T) {
	evs := readFixture(t, "idf-dialyse.jsonl")
	tr := projections.NewTrends()
	for i := range evs {
		tr.Apply(&evs[i])
	}
	rep := weekly(t, tr, projections.TrendQuery{From: "2025-W40", To: "2026-W14", Now: at(2026, 3, 30, 0)})
	golden(t, "trends-idf", renderTrends(rep, projections.ScopeRegion, projections.ScopeDepartment, projections.ScopeType))
}

// Folding in pieces with queries in between, or through Live, gives what
// one fold of the whole log gives; a redelivery changes nothing.
func TestTrendsIncremental(t *testing.T) {
	evs := readFixture(t, "idf-dialyse.jsonl")
	q := projections.TrendQuery{From: "2025-W40", To: "2026-W14", Now: at(2026, 3, 30, 0)}
	whole := projections.NewTrends()
	for i := range evs {
		whole.Apply(&evs[i])
	}
	want := weekly(t, whole, q)

	pieces := projections.NewTrends()
	for i := range evs {
		pieces.Apply(&evs[i])
		if i%997 == 0 {
			weekly(t, pieces, projections.TrendQuery{From: "2025-W40", To: "2026-W14", Now: evs[i].RecordedAt})
			pieces.Apply(&evs[i/2]) // a redelivery: ignored
		}
	}
	if got := weekly(t, pieces, q); renderTrends(got) != renderTrends(want) {
		t.Fatal("folding in pieces gives other trends than one fold")
	}

	live := projections.NewLive()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); follow(ctx, live, sliceSource(evs)) }()
	defer func() { cancel(); <-done }()
	for !live.Ready() {
		time.Sleep(time.Millisecond)
	}
	var got projections.TrendReport
	var err error
	live.ViewTrends(func(tr *projections.Trends) { got, err = tr.Weekly(q) })
	if err != nil {
		t.Fatal(err)
	}
	if renderTrends(got) != renderTrends(want) {
		t.Fatal("Live's trends differ from one fold")
	}
	var m1, m2 bytes.Buffer
	live.View(func(a *projections.Availability) { writeMatrix(&m1, a.Matrix()) })
	a := projections.NewAvailability()
	for i := range evs {
		a.Apply(&evs[i])
	}
	writeMatrix(&m2, a.Matrix())
	if m1.String() != m2.String() {
		t.Fatal("Live's matrix changed with the trends fold")
	}
}

// sliceSource serves a fixed log to Live.
type sliceSource []domain.Envelope

func (s sliceSource) Head(context.Context) (uint64, error) { return uint64(len(s)), nil }

func (s sliceSource) Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error] {
	return func(yield func(domain.Envelope, error) bool) {
		for _, env := range s[after:] {
			if !yield(env, nil) {
				return
			}
		}
		<-ctx.Done()
	}
}

// The state grows with units and weeks, not with events: declarations
// within a week allocate nothing.
func TestTrendsDeclarationDoesNotAllocate(t *testing.T) {
	l := newTrendLog()
	mon := at(2025, 10, 6, 0)
	for i := range 20 {
		id := fmt.Sprintf("u%02d", i)
		l.register(mon, id, domain.IleDeFrance[i%8], domain.DialysisTypes[i%5])
		if i < 4 {
			l.add(mon, id, domain.UnitPooled{Pool: "P" + fmt.Sprint(i%2)})
		}
		l.declare(mon, id, 1, 10)
	}
	tr := l.fold()
	env := domain.Envelope{Stream: domain.UnitStream("u00"), Position: uint64(len(l.envs)), RecordedAt: mon.Add(time.Hour),
		Event: domain.AvailabilityDeclared{Available: 2, Installed: 10}}
	other := env
	other.Stream = domain.UnitStream("u07")
	decls := []domain.Event{domain.AvailabilityDeclared{Available: 0, Installed: 10}, domain.AvailabilityDeclared{Available: 1, Installed: 10},
		domain.AvailabilityDeclared{Available: 2, Installed: 10}} // boxed once: boxing allocates
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		for _, e := range []*domain.Envelope{&env, &other} {
			i++
			e.Position = uint64(len(l.envs) + i)
			e.RecordedAt = e.RecordedAt.Add(time.Second)
			e.Event = decls[i%3]
			tr.Apply(e)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per declaration pair, want 0", allocs)
	}
}

// BenchmarkTrendsWeekly1M: a year of weekly trends over a log of 1 M events
// (the fold built beforehand). Goal <= 50 ms.
func BenchmarkTrendsWeekly1M(b *testing.B) {
	cfg := fixturegen.DefaultIleDeFrance()
	cfg.Events = 1_000_000
	path, err := fixturegen.CachedLog(context.Background(), cfg, os.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	tr := projections.NewTrends()
	var first, last time.Time
	n := 0
	start := time.Now()
	for env, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			b.Fatal(err)
		}
		tr.Apply(&env)
		if n == 0 {
			first = env.RecordedAt
		}
		last = env.RecordedAt
		n++
	}
	fold := time.Since(start)
	state := float64(heap()) - float64(before) // the fold's footprint: units x weeks
	q := projections.TrendQuery{From: last.AddDate(-1, 0, 7).Format(time.DateOnly), To: last.Format(time.DateOnly), Now: last}
	rep, err := tr.Weekly(q)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := tr.Weekly(q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
	b.ReportMetric(float64(len(rep.Weeks)), "weeks")
	b.ReportMetric(float64(len(rep.Weeks[0].Rows)), "rows/week")
	b.ReportMetric(float64(n)/fold.Seconds(), "fold-events/s")
	b.ReportMetric(last.Sub(first).Hours()/168, "log-weeks")
	b.ReportMetric(state/(1<<20), "fold-heap-MiB")
	runtime.KeepAlive(tr)
}

// BenchmarkTrendsFold folds the Île-de-France fixture (26 weeks, 16,747
// events) into a fresh Trends, beside a fresh Availability: what the trends
// cost a replay (Live folds both through one Trends).
func BenchmarkTrendsFold(b *testing.B) {
	evs, err := jsonl.ReadFile("../eventlog-fixtures/idf-dialyse.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("trends", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tr := projections.NewTrends()
			for i := range evs {
				tr.Apply(&evs[i])
			}
		}
		b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("availability", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a := projections.NewAvailability()
			for i := range evs {
				a.Apply(&evs[i])
			}
		}
		b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// Weeks without any event are kept as one record; their figures are those
// of weeks in which the last values held all along, 169 hours included.
func TestTrendsQuietRun(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 10, 6, 0), "u1", "77", "udm")
	l.register(at(2025, 10, 6, 0), "u2", "77", "udm")
	l.declare(at(2025, 10, 6, 0), "u1", 10, 20)
	l.declare(at(2025, 10, 6, 0), "u2", 1, 2)
	l.close(at(2025, 10, 10, 0), "u2")         // Friday of W41
	l.declare(at(2025, 11, 6, 0), "u1", 4, 20) // Thursday of W45: W42 to W44 are quiet
	tr := l.fold()
	rep := weekly(t, tr, projections.TrendQuery{From: "2025-W41", To: "2025-W45", Now: at(2025, 11, 10, 0)})
	if len(rep.Weeks) != 5 {
		t.Fatalf("got %d weeks", len(rep.Weeks))
	}
	check(t, rep.Weeks[0], "", "", want{mean: (11*96 + 10*72) / 168.0, installed: 22, min: "10", max: "11", end: "10",
		decls: 2, declared: 2, expects: 2, compliance: "1.000000", daysClosed: 3})
	for i, hours := range []float64{168, 169, 168} {
		w := rep.Weeks[1+i]
		if w.Hours != hours {
			t.Errorf("%s: %v hours, want %v", w.Week, w.Hours, hours)
		}
		check(t, w, "77", "udm", want{mean: 10, installed: 22, min: "10", max: "10", end: "10",
			expects: 1, compliance: "0.000000", daysClosed: hours / 24})
		if got := missedIDs(w); !slices.Equal(got, []string{"u1"}) {
			t.Errorf("%s: missed %v", w.Week, got)
		}
	}
	check(t, rep.Weeks[4], "", "", want{mean: (10*72 + 4*96) / 168.0, installed: 22, min: "4", max: "10", end: "4",
		decls: 1, declared: 1, expects: 1, compliance: "1.000000", daysClosed: 7})

	// A clock far ahead costs one record, not one per week.
	far := newTrendLog()
	far.register(at(2025, 10, 6, 0), "u1", "77", "udm")
	far.declare(at(2025, 10, 6, 0), "u1", 10, 20)
	far.declare(at(9000, 1, 3, 0), "u1", 4, 20)
	allocs := testing.AllocsPerRun(3, func() { far.fold() })
	if allocs > 200 {
		t.Fatalf("%v allocations to fold a 7,000-year gap", allocs)
	}
}

// A week without any event between two that have some is a quiet run of
// one week: its figures are those held through it, and an image of the
// fold holding it restores.
func TestTrendsOneQuietWeek(t *testing.T) {
	l := newTrendLog()
	l.register(at(2025, 10, 6, 8), "u1", "77", "udm")
	l.declare(at(2025, 10, 6, 9), "u1", 4, 10)  // 2025-W41
	l.declare(at(2025, 10, 21, 9), "u1", 2, 10) // 2025-W43; W42 is quiet
	tr := l.fold()
	rep := weekly(t, tr, projections.TrendQuery{From: "2025-W42", To: "2025-W42", Now: at(2025, 10, 22, 0)})
	if len(rep.Weeks) != 1 {
		t.Fatalf("%d weeks", len(rep.Weeks))
	}
	if r := trendRow(t, rep.Weeks[0], "", ""); r.MeanAvailable != 4 || r.MeanInstalled != 10 {
		t.Fatalf("quiet week 2025-W42: mean available %v installed %v, want 4 and 10 held all week", r.MeanAvailable, r.MeanInstalled)
	}
}
