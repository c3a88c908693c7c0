package projections

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"dispo/domain"
)

var propSeed = flag.Uint64("projections.seed", 0, "seed of the random event sequences (0: from the clock)")

// randomLog returns n envelopes of a random but valid history: commands are
// drawn at random and turned into events by domain.Decide against each
// unit's folded state, as the service would; refused commands are skipped.
// Every command is drawn (corrections, cancelled closures and retirements
// included), and foreign streams are mixed in.
func randomLog(tb testing.TB, seed uint64, n int) []*domain.Envelope {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	l := newLedger(tb)
	l.a = nil // build only
	states := map[string]*domain.UnitState{}
	deps := []string{"75", "77", "93", "95", "2A", "971"}
	ests := []string{"AP-HP", "EG", "Clinique du Parc", "Hôpital Nord"}
	units := make([]string, 40)
	for i := range units {
		units[i] = unitID(i)
		states[units[i]] = &domain.UnitState{}
	}
	randomUnit := func(id string) domain.Unit {
		u := mkUnit(id, deps[r.IntN(len(deps))], domain.UnitTypes[r.IntN(len(domain.UnitTypes))].Code, ests[r.IntN(len(ests))])
		if r.IntN(3) == 0 {
			u.Phone = ""
		}
		return u
	}
	for len(l.envs) < n {
		// Time passes irregularly: often seconds, sometimes days.
		switch r.IntN(10) {
		case 0:
			l.at = l.at.Add(time.Duration(r.IntN(72)) * time.Hour)
		default:
			l.at = l.at.Add(time.Duration(r.IntN(600)) * time.Second)
		}
		if r.IntN(50) == 0 {
			l.envs = append(l.envs, l.envelope("user-"+units[r.IntN(5)], domain.CommentSet{Text: "foreign"}))
			continue
		}
		id := units[r.IntN(len(units))]
		s := states[id]
		var cmd domain.Command
		switch k := r.IntN(100); {
		case !s.Registered():
			cmd = domain.RegisterUnit{Unit: randomUnit(id)}
		case k < 60:
			installed := r.IntN(40)
			closed := r.IntN(installed + 1)
			cmd = domain.DeclareAvailability{Available: r.IntN(installed - closed + 1), Installed: installed, ClosedPlaces: closed}
		case k < 66:
			cmd = domain.SetComment{Text: fmt.Sprintf("%d place(s) le %02d/03", r.IntN(4), 1+r.IntN(28))}
		case k < 69:
			cmd = domain.ClearComment{}
		case k < 73:
			// A few units close for good; the others reopen.
			cmd = domain.CloseUnit{Reason: "travaux", Reopenable: id < unitID(36), PlannedEnd: l.at.Add(time.Duration(1+r.IntN(100)) * time.Hour)}
		case k < 83:
			cmd = domain.ReopenUnit{}
		case k < 85:
			// Closures made by mistake, those for good included.
			cmd = domain.CancelClosure{Reason: "erreur de saisie"}
		case k < 91:
			cmd = domain.PoolUnit{Pool: fmt.Sprintf("P%d", r.IntN(5))}
		case k < 94:
			cmd = domain.UnpoolUnit{}
		case k >= 95 && k < 98 && id >= unitID(37) && len(l.envs) > n/2:
			// Three units leave the directory in the second half, pooled or not.
			cmd = domain.RetireUnit{Reason: "fermeture définitive"}
		case k < 97:
			installed := r.IntN(40)
			closed := r.IntN(installed + 1)
			cmd = domain.CorrectDeclaration{Corrects: s.DeclarationID().String(), Available: r.IntN(installed - closed + 1),
				Installed: installed, ClosedPlaces: closed, Reason: "erreur de saisie"}
		default:
			cmd = domain.ChangeUnitDetails{Unit: randomUnit(id)}
		}
		evs, err := domain.Decide(s, cmd, l.at)
		if err != nil {
			continue
		}
		for _, ev := range evs {
			env := l.envelope(domain.UnitStream(id), ev)
			s.Apply(env)
			l.envs = append(l.envs, env)
		}
	}
	return l.envs[:n]
}

func seedFor(t *testing.T) uint64 {
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: rerun with go test ./projections -run '%s' -projections.seed=%d", seed, t.Name(), seed)
		}
	})
	return seed
}

type views struct {
	Units     []UnitView
	Matrix    Matrix
	Freshness []FreshnessReport
}

func viewsOf(a *Availability, instants []time.Time) views {
	v := views{Units: a.Units(), Matrix: a.Matrix()}
	for _, now := range instants {
		v.Freshness = append(v.Freshness, a.Freshness(now))
	}
	return v
}

// TestRebuild folds a long random history in one go, in two halves with
// queries between them, and with every envelope delivered twice: the views
// must be identical, and must match a naive recomputation from the log.
func TestRebuild(t *testing.T) {
	seed := seedFor(t)
	for round := range uint64(4) {
		envs := randomLog(t, seed+round, 20000)
		last := envs[len(envs)-1].RecordedAt
		instants := []time.Time{last, last.Add(59 * time.Minute), last.Add(7 * 24 * time.Hour), last.Add(-24 * time.Hour)}

		// The live fold is checked against a naive recomputation along the way.
		whole := NewAvailability()
		for i, env := range envs {
			whole.Apply(env)
			if (i+1)%500 == 0 {
				checkAgainstNaive(t, envs[:i+1], whole)
			}
		}

		halves := NewAvailability()
		cut := len(envs)/3 + int(seed%1000)
		for _, env := range envs[:cut] {
			halves.Apply(env)
		}
		viewsOf(halves, instants) // queries must not disturb the fold
		halves.Detail("dialyse", "77")
		for _, env := range envs[cut:] {
			halves.Apply(env)
		}

		twice := NewAvailability()
		for i, env := range envs {
			twice.Apply(env)
			twice.Apply(env)
			if i > 0 {
				twice.Apply(envs[i-1])
			}
		}

		want := viewsOf(whole, instants)
		if whole.Position() != envs[len(envs)-1].Position {
			t.Fatalf("round %d: Position() = %d, want %d", round, whole.Position(), envs[len(envs)-1].Position)
		}
		for name, a := range map[string]*Availability{"two halves": halves, "redelivered": twice} {
			if a.Position() != whole.Position() {
				t.Errorf("round %d, %s: Position() = %d, want %d", round, name, a.Position(), whole.Position())
			}
			if got := viewsOf(a, instants); !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %s: views differ from the fold in one go", round, name)
				diffViews(t, got, want)
			}
		}
		checkAgainstNaive(t, envs, whole)
		if t.Failed() {
			return
		}
	}
}

func diffViews(t *testing.T, got, want views) {
	t.Helper()
	for i := range min(len(got.Units), len(want.Units)) {
		if !reflect.DeepEqual(got.Units[i], want.Units[i]) {
			t.Errorf("unit %d:\ngot  %+v\nwant %+v", i, got.Units[i], want.Units[i])
			return
		}
	}
	if !reflect.DeepEqual(got.Matrix, want.Matrix) {
		t.Errorf("matrix:\ngot  %+v\nwant %+v", got.Matrix, want.Matrix)
	}
	if !reflect.DeepEqual(got.Freshness, want.Freshness) {
		t.Errorf("freshness:\ngot  %+v\nwant %+v", got.Freshness, want.Freshness)
	}
}

// checkAgainstNaive recomputes, from the whole log and without the fold's
// incremental pool bookkeeping, what every unit shows and every matrix cell.
func checkAgainstNaive(t *testing.T, envs []*domain.Envelope, a *Availability) {
	t.Helper()
	type unit struct {
		state     domain.UnitState
		declPos   uint64
		declAvail int
	}
	units := map[string]*unit{}
	for _, env := range envs {
		id, ok := domain.UnitIDFromStream(env.Stream)
		if !ok {
			continue
		}
		u := units[id]
		if u == nil {
			u = &unit{}
			units[id] = u
		}
		u.state.Apply(env)
		switch d := env.Event.(type) {
		case domain.AvailabilityDeclared:
			u.declPos, u.declAvail = env.Position, d.Available
		case domain.AvailabilityCorrected:
			u.declAvail = d.Available // the declaration keeps its place
		}
	}
	poolCount := func(pool string) int {
		var pos uint64
		n := 0
		for _, u := range units {
			if u.state.Pool() == pool && u.declPos > pos {
				pos, n = u.declPos, u.declAvail
			}
		}
		return n
	}
	shown := func(u *unit) int {
		switch {
		case u.state.IsUnitClosed(), u.state.Retired():
			return 0
		case u.state.Pool() != "":
			return poolCount(u.state.Pool())
		case u.state.AwaitingDeclaration():
			return 0
		}
		return u.state.Declared().Available
	}

	listed := 0
	for id, u := range units {
		if !u.state.Registered() {
			continue
		}
		if !u.state.Retired() {
			listed++
		}
		v, ok := a.Unit(id)
		if !ok {
			t.Errorf("unit %s: registered but not in the fold", id)
			continue
		}
		if v.Available != shown(u) || poolOf(v) != u.state.Pool() {
			t.Errorf("unit %s: got available %d pool %q, naive %d %q", id, v.Available, poolOf(v), shown(u), u.state.Pool())
		}
		if msg := viewMatchesState(v, &u.state); msg != "" {
			t.Errorf("unit %s: %s", id, msg)
		}
	}
	if got := len(a.Units()); got != listed {
		t.Errorf("Units() has %d units, %d registered and not retired", got, listed)
	}

	m := a.Matrix()
	naiveCell := func(in func(domain.Unit) bool) Cell {
		var c Cell
		pools := map[string]bool{}
		for _, u := range units {
			du := u.state.Unit()
			if !u.state.Registered() || u.state.Retired() || !in(du) {
				continue
			}
			c.Units++
			c.Installed += u.state.Declared().Installed
			switch p := u.state.Pool(); {
			case u.state.IsUnitClosed():
			case p != "":
				if !pools[p] {
					pools[p] = true
					c.Available += poolCount(p)
					c.Pools++
				}
			default:
				c.Available += shown(u)
			}
		}
		return c
	}
	inRow := func(r MatrixRow, u domain.Unit) bool {
		switch r.Kind {
		case TypeRow:
			return u.Type == r.Type
		case CategoryRow:
			typ, _ := domain.LookupType(u.Type)
			return typ.Category == r.Category
		}
		return true
	}
	for _, r := range append(m.Rows, m.Total) {
		for c, dep := range append(m.Departments, "") {
			want := naiveCell(func(u domain.Unit) bool { return inRow(r, u) && (dep == "" || u.Department == dep) })
			got := r.Total
			if dep != "" {
				got = r.Cells[c]
			}
			if got != want {
				t.Errorf("matrix %s %q, department %q: got %+v, naive %+v", r.Kind, r.Code(), dep, got, want)
			}
		}
	}
}
