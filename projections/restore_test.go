package projections

import (
	"reflect"
	"testing"
	"time"
)

// A Live restored from an image taken anywhere in a random history (every
// event type in it: retirements, corrections, cancelled closures, pools)
// folds on exactly as the Live it was taken of: same image, same views,
// same trends, at every cut.
func TestRestoreFoldsOnAsFromZero(t *testing.T) {
	seed := seedFor(t)
	envs := randomLog(t, seed, 20000)
	last := envs[len(envs)-1].RecordedAt
	// The trends of the last year (a query covers at most ten).
	query := TrendQuery{From: last.AddDate(-1, 0, 0).Format(time.DateOnly), Now: last.Add(time.Hour)}
	whole := NewLive()
	for _, env := range envs {
		whole.Apply(env)
	}
	want := whole.Image()
	var wantUnits []UnitView
	whole.View(func(a *Availability) { wantUnits = a.Units() })
	wantTrends, err := whole.t.Weekly(query)
	if err != nil || len(wantTrends.Weeks) < 50 {
		t.Fatalf("the trends of the last year: %d weeks (%v)", len(wantTrends.Weeks), err)
	}
	retired := 0
	for _, u := range want.Availability.Units {
		if u.Retired {
			retired++
		}
	}
	if retired == 0 || len(want.Availability.Pools) == 0 {
		t.Fatalf("the history ends with %d retired units and %d pools: it proves little", retired, len(want.Availability.Pools))
	}

	for _, cut := range []int{1, 2, 137, len(envs) / 3, len(envs) / 2, len(envs) - 1, len(envs)} {
		first := NewLive()
		for _, env := range envs[:cut] {
			first.Apply(env)
		}
		img := first.Image()
		resumed := NewLive()
		if err := resumed.Restore(img); err != nil {
			t.Fatalf("cut %d: Restore: %v", cut, err)
		}
		if got := resumed.Image(); !reflect.DeepEqual(got, img) {
			t.Fatalf("cut %d: the restored Live's image differs from the one it was restored from", cut)
		}
		for _, env := range envs[cut:] {
			resumed.Apply(env)
		}
		if got := resumed.Image(); !reflect.DeepEqual(got, want) {
			t.Fatalf("cut %d: the image after folding on differs from the fold from 0", cut)
		}
		var units []UnitView
		resumed.View(func(a *Availability) { units = a.Units() })
		if !reflect.DeepEqual(units, wantUnits) {
			t.Fatalf("cut %d: the units after folding on differ from the fold from 0", cut)
		}
		got, err := resumed.t.Weekly(query)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wantTrends) {
			t.Fatalf("cut %d: the trends after folding on differ from the fold from 0", cut)
		}
	}
}
