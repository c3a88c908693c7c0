package fixturegen_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dispo/adapters/fixturegen"
	"dispo/domain"
)

func TestSeed77IsAValidLog(t *testing.T) {
	c := newLogChecker()
	for _, env := range fixturegen.Seed77() {
		if err := c.check(env); err != nil {
			t.Fatal(err)
		}
	}
}

// The folded seed is DOMAIN.md's department-77 table, row for row.
func TestSeed77MatchesTheTable(t *testing.T) {
	c := newLogChecker()
	for _, env := range fixturegen.Seed77() {
		if err := c.check(env); err != nil {
			t.Fatal(err)
		}
	}
	var states []*domain.UnitState
	for stream, s := range c.states {
		if stream != domain.SealStream {
			states = append(states, s)
		}
	}
	slices.SortFunc(states, func(a, b *domain.UnitState) int {
		if c := strings.Compare(a.Unit().Establishment, b.Unit().Establishment); c != 0 {
			return c
		}
		return strings.Compare(a.Unit().ID, b.Unit().ID)
	})
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"EG | Unité de dialyse médicalisée | 0 / 20 | 12:47 le 09/08/2024 | ",
		"EG | Auto dialyse | 1 / 18 | 12:47 le 09/08/2024 | ",
		"EG | Centre Lourd | 0 / 24 | 12:47 le 09/08/2024 | ",
		"EG | Unité de dialyse médicalisée | 0 / 0 | 15:30 le 06/03/2025 | ",
	}
	var got []string
	for _, s := range states {
		u := s.Unit()
		got = append(got, strings.Join([]string{
			u.Establishment, u.Name,
			strconv.Itoa(s.Declared().Available) + " / " + strconv.Itoa(s.Declared().Installed),
			s.LastDeclaredAt().In(paris).Format("15:04 le 02/01/2006"), u.Phone,
		}, " | "))
		if u.Department != "77" || !strings.HasPrefix(u.FINESS, "77") || s.IsUnitClosed() || s.Pool() != "" || s.Comment() != "" || s.Declared().ClosedPlaces != 0 {
			t.Errorf("unit %s: department %s, FINESS %s, closed %v, pool %q, comment %q, closed places %d",
				u.ID, u.Department, u.FINESS, s.IsUnitClosed(), s.Pool(), s.Comment(), s.Declared().ClosedPlaces)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("table:\ngot  %q\nwant %q", got, want)
	}
	wantTypes := []string{"udm", "autodialyse", "centre_lourd", "udm"}
	for i, s := range states {
		if s.Unit().Type != wantTypes[i] {
			t.Errorf("row %d: type %s, want %s", i+1, s.Unit().Type, wantTypes[i])
		}
	}
}

func TestSeed77Actors(t *testing.T) {
	for _, env := range fixturegen.Seed77() {
		switch env.Event.(type) {
		case domain.LogSealed: // checked by the log checker
		case domain.UnitRegistered:
			if env.Actor.Role != domain.RoleAdmin || env.Source != domain.SourceImport {
				t.Errorf("position %d: registered by %+v through %s", env.Position, env.Actor, env.Source)
			}
		default:
			if env.Actor.Role != domain.RoleResponsable || env.Actor.Establishment != fixturegen.Seed77FINESS || env.Source != domain.SourceManual {
				t.Errorf("position %d: %s by %+v through %s", env.Position, env.Type(), env.Actor, env.Source)
			}
		}
	}
}
