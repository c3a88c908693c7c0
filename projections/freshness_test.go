package projections

import (
	"testing"
	"time"

	"dispo/domain"
)

func TestBandOf(t *testing.T) {
	now := t0.Add(100 * time.Hour)
	for _, tc := range []struct {
		age  time.Duration
		want Band
	}{
		{0, BandUnder1h},
		{59*time.Minute + 59*time.Second, BandUnder1h},
		{time.Hour, BandUnder3h},
		{3*time.Hour - time.Nanosecond, BandUnder3h},
		{3 * time.Hour, BandUnder6h},
		{6 * time.Hour, BandUnder12h},
		{12 * time.Hour, BandUnder24h},
		{23*time.Hour + 59*time.Minute, BandUnder24h},
		{24 * time.Hour, BandOver24h},
		{30 * 24 * time.Hour, BandOver24h},
		{-5 * time.Hour, BandUnder1h}, // declared in the future of now
	} {
		if got := BandOf(now.Add(-tc.age), now); got != tc.want {
			t.Errorf("BandOf(age %v) = %v, want %v", tc.age, got, tc.want)
		}
	}
	if got := BandOf(time.Time{}, now); got != BandOver24h {
		t.Errorf("BandOf(never) = %v, want %v", got, BandOver24h)
	}
}

func TestBandLabels(t *testing.T) {
	want := []string{"< 1 h", "< 3 h", "< 6 h", "< 12 h", "< 24 h", "> 24 h"}
	for b := range Band(NumBands) {
		if got := b.String(); got != want[b] {
			t.Errorf("Band(%d).String() = %q, want %q", b, got, want[b])
		}
	}
}

func TestFreshness(t *testing.T) {
	l := newLedger(t)
	now := t0.Add(30 * 24 * time.Hour)
	declareAt := func(id string, age time.Duration) {
		t.Helper()
		l.at = now.Add(-age)
		l.declare(id, 1, 2, 0)
	}
	l.register("fresh", "77", "udm", "A")
	l.register("week", "77", "udm", "B")
	l.register("almost", "75", "udm", "C")
	l.register("never", "75", "udm", "D")
	l.register("closed", "75", "udm", "E")
	l.register("closednever", "91", "udm", "F")
	l.register("corse", "2A", "udm", "G")
	declareAt("closed", 10*24*time.Hour)
	declareAt("week", OverdueAfter)
	declareAt("almost", OverdueAfter-time.Nanosecond)
	declareAt("corse", 2*time.Hour)
	declareAt("fresh", 30*time.Minute)
	l.close("closed", "travaux", false)
	l.close("closednever", "travaux", false)

	r := l.a.Freshness(now)
	if !r.Now.Equal(now) {
		t.Errorf("Now: got %v", r.Now)
	}
	byDep := map[string][NumBands]int{}
	for _, d := range r.Departments {
		byDep[d.Department] = d.Bands
	}
	if len(r.Departments) != len(domain.IleDeFrance)+1 || r.Departments[len(r.Departments)-1].Department != "2A" {
		t.Fatalf("departments: got %+v", r.Departments)
	}
	for dep, want := range map[string][NumBands]int{
		"77": {BandUnder1h: 1, BandOver24h: 1},
		"75": {BandOver24h: 3},
		"91": {BandOver24h: 1},
		"2A": {BandUnder3h: 1},
		"78": {},
	} {
		if got := byDep[dep]; got != want {
			t.Errorf("department %s: got %v, want %v", dep, got, want)
		}
	}
	if want := [NumBands]int{1, 1, 0, 0, 0, 5}; r.Total != want {
		t.Errorf("total: got %v, want %v", r.Total, want)
	}
	if got, want := ids(r.Overdue), []string{"never", "week"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("missed the weekly obligation: got %v, want %v (sorted like Units; closed units excluded)", got, want)
	}
}

func TestFreshnessEmpty(t *testing.T) {
	r := NewAvailability().Freshness(t0)
	if r.Overdue == nil || len(r.Overdue) != 0 || r.Total != [NumBands]int{} || len(r.Departments) != len(domain.IleDeFrance) {
		t.Fatalf("empty fold: got %+v", r)
	}
}
