package fixturegen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"dispo/domain"
)

// establishment is a FINESS entity and the people who declare for it.
type establishment struct {
	finess, name, dept string
	phone              string // first four pairs; each unit adds its own last pair
	declarants         []domain.Actor
	source             domain.Source
	units              []*unitGen
}

// admin registers units, forms the pool and edits details.
var admin = domain.Actor{UserID: "admin-ror-idf", Role: domain.RoleAdmin}

// chacha returns a ChaCha8 generator for one purpose of the seed: separate
// purposes (directory, ids, each unit) draw from separate streams, so that a
// change in one does not reshuffle the others.
func chacha(seed uint64, purpose string) *rand.ChaCha8 {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	copy(key[8:], purpose)
	return rand.NewChaCha8(key)
}

// newUUID returns a version-4 UUID drawn from src. ChaCha8's Read never
// fails, so neither does this.
func newUUID(src *rand.ChaCha8) uuid.UUID {
	id, _ := uuid.NewRandomFromReader(src)
	return id
}

// buildDirectory makes the establishments and units of cfg, in registration
// order: by department, then establishment, then unit type.
func buildDirectory(cfg Config, r *rand.Rand) []*establishment {
	var ests []*establishment
	usedFINESS := map[string]bool{}
	usedNames := map[string]bool{}
	for di, n := range share(cfg.Units, departmentWeights) {
		dept := domain.IleDeFrance[di]
		for n > 0 {
			size := min(n, 1+pick(r, []int{30, 30, 25, 15}))
			n -= size
			ests = append(ests, newEstablishment(r, dept, size, usedFINESS, usedNames))
		}
	}
	return ests
}

// share divides total among weights, largest remainders first; when there
// are enough, every share gets at least one.
func share(total int, weights []int) []int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	out := make([]int, len(weights))
	rest := make([]int, len(weights))
	given := 0
	for i, w := range weights {
		out[i] = total * w / sum
		rest[i] = total * w % sum
		given += out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rest[b] - rest[a] })
	for _, i := range order[:total-given] {
		out[i]++
	}
	if total >= len(weights) {
		for i := range out {
			if out[i] == 0 {
				out[i]++
				out[slices.Index(out, slices.Max(out))]--
			}
		}
	}
	return out
}

func newEstablishment(r *rand.Rand, dept string, size int, usedFINESS, usedNames map[string]bool) *establishment {
	e := &establishment{dept: dept, source: domain.SourceManual}
	for e.finess == "" || usedFINESS[e.finess] {
		e.finess = fmt.Sprintf("%s%07d", dept, r.IntN(2_000_000))
	}
	usedFINESS[e.finess] = true
	for try := 0; e.name == "" || usedNames[e.name]; try++ {
		e.name = establishmentName(r, dept)
		if try > 20 {
			e.name += fmt.Sprintf(" – site %d", try-19)
		}
	}
	usedNames[e.name] = true
	e.phone = fmt.Sprintf("01 %02d %02d %02d", between(r, 30, 79), between(r, 10, 99), between(r, 10, 99))
	switch {
	case r.IntN(100) < 12: // declares from its information system
		e.source = domain.SourceAPI
		e.declarants = []domain.Actor{{UserID: "dpi-" + e.finess, Role: domain.RoleResponsable, Establishment: e.finess}}
	default:
		for k := range 1 + r.IntN(2) {
			e.declarants = append(e.declarants, domain.Actor{
				UserID: fmt.Sprintf("resp-%s-%d", e.finess, k+1), Role: domain.RoleResponsable, Establishment: e.finess,
			})
		}
	}
	last := between(r, 10, 89)
	for k, typ := range unitTypes(r, size) {
		u := domain.Unit{
			ID:            fmt.Sprintf("%s-%02d", e.finess, k+1),
			FINESS:        e.finess,
			Establishment: e.name,
			Department:    dept,
			Type:          typ,
			Name:          unitNames[typ][r.IntN(len(unitNames[typ]))],
		}
		if r.IntN(100) >= 8 {
			u.Phone = fmt.Sprintf("%s %02d", e.phone, 10+(last-10+7*k)%90)
		}
		e.units = append(e.units, newUnitGen(r, e, u))
	}
	return e
}

// unitTypes returns size distinct dialysis types, in catalog order.
func unitTypes(r *rand.Rand, size int) []string {
	weights := slices.Clone(typeWeights)
	var idx []int
	for range size {
		i := pick(r, weights)
		weights[i] = 0
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = domain.DialysisTypes[i]
	}
	return out
}

func establishmentName(r *rand.Rand, dept string) string {
	weights := make([]int, len(establishmentPatterns))
	for i, p := range establishmentPatterns {
		if dept != "75" || p.paris {
			weights[i] = p.weight
		}
	}
	p := establishmentPatterns[pick(r, weights)]
	town := towns[dept][r.IntN(len(towns[dept]))]
	saint := saints[r.IntN(len(saints))]
	return fmt.Sprintf(p.format, of(town), saint)
}

// of returns "de <place>" with French elision and contraction.
func of(place string) string {
	switch {
	case strings.HasPrefix(place, "Le "):
		return "du " + place[len("Le "):]
	case strings.HasPrefix(place, "Les "):
		return "des " + place[len("Les "):]
	case strings.HasPrefix(place, "La "):
		return "de la " + place[len("La "):]
	case strings.ContainsRune("AEIOUYÉÈÊÎÔÂ", []rune(place)[0]):
		return "d'" + place
	}
	return "de " + place
}

// plan decides the special cases of cfg and gives them to the units
// concerned.
func plan(cfg Config, r *rand.Rand, src *rand.ChaCha8, ests []*establishment, start, end time.Time) {
	var all []*unitGen
	for _, e := range ests {
		all = append(all, e.units...)
	}
	week := func(w, day int) time.Time { return midnight(start, 7*w+day) }
	taken := map[*unitGen]bool{}

	if cfg.Pool > 0 {
		var eligible []*establishment
		for _, e := range ests {
			if len(e.units) >= cfg.Pool {
				eligible = append(eligible, e)
			}
		}
		if len(eligible) > 0 { // Validate cannot tell; a small directory may have none
			e := eligible[r.IntN(len(eligible))]
			p := &pool{id: "pool-" + e.finess}
			join := onDay(week(1, 1), 10, 0) // Tuesday of the second week
			corr := newUUID(src).String()
			for _, u := range e.units[:cfg.Pool] {
				u.agenda = append(u.agenda, action{at: join, kind: actPool, pool: p, corr: corr})
				taken[u] = true
			}
			if cfg.Pool >= 3 {
				u := e.units[cfg.Pool-1]
				leave := onDay(week(cfg.Weeks*2/3, 3), 14, 0) // a Thursday
				u.agenda = append(u.agenda, action{at: leave, kind: actUnpool, corr: newUUID(src).String()})
			}
		}
	}

	var free []*unitGen
	for _, u := range all {
		if !taken[u] {
			free = append(free, u)
		}
	}
	r.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	next := func() *unitGen {
		u := free[0]
		free = free[1:]
		return u
	}

	for range cfg.Closures {
		u := next()
		day := week(between(r, 2, cfg.Weeks-4), r.IntN(5))
		closeAt := clock(r, day)
		c := domain.UnitClosed{Reason: closureReasons[r.IntN(len(closureReasons))], Reopenable: true}
		if r.IntN(2) == 0 {
			c.Start = onDay(day, 7, 0) // the trouble began this morning
		} else {
			c.Start = closeAt.Truncate(time.Minute)
		}
		days := between(r, 2, 15)
		c.PlannedEnd = onDay(midnight(day, days), 18, 0)
		reopen := midnight(day, max(1, days+between(r, -1, 2)))
		for !u.office.works(reopen) {
			reopen = midnight(reopen, 1)
		}
		u.agenda = append(u.agenda,
			action{at: closeAt, kind: actClose, closure: c},
			action{at: clock(r, reopen), kind: actReopen})
	}
	for range cfg.PermanentClosures {
		u := next()
		day := week(between(r, cfg.Weeks*2/3, cfg.Weeks-2), r.IntN(5))
		closeAt := clock(r, day)
		u.agenda = append(u.agenda, action{at: closeAt, kind: actClose, closure: domain.UnitClosed{
			Reason: permanentClosureReasons[r.IntN(len(permanentClosureReasons))],
			Start:  closeAt.Truncate(time.Minute),
		}})
	}
	for k := range cfg.Laggards {
		u := next()
		if k < cfg.Laggards/2 { // a lapse of 9 to 16 days mid-window
			u.lapseFrom = week(between(r, 3, cfg.Weeks-5), r.IntN(7))
			u.lapseTo = midnight(u.lapseFrom, between(r, 9, 16))
		} else { // stops for good some days before the end
			u.lapseFrom = midnight(end, -between(r, 8, 13))
		}
	}

	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, u := range all[:cfg.DetailsChanges] {
		changed := u.unit
		for changed.Phone == u.unit.Phone {
			changed.Phone = fmt.Sprintf("01 %02d %02d %02d %02d", between(r, 30, 79), between(r, 10, 99), between(r, 10, 99), between(r, 10, 99))
		}
		at := clock(r, week(between(r, 1, cfg.Weeks-1), r.IntN(5)))
		u.agenda = append(u.agenda, action{at: at, kind: actDetails, unit: changed})
	}

	for _, u := range all {
		slices.SortStableFunc(u.agenda, func(a, b action) int { return a.at.Compare(b.at) })
	}
}
