package projections

import (
	"reflect"
	"testing"

	"dispo/domain"
)

func TestDetailCategoryAndType(t *testing.T) {
	l := newLedger(t)
	l.register("b2", "77", "udm", "EG")
	l.register("a1", "77", "autodialyse", "EG")
	l.register("c1", "77", "centre_lourd", "Hôpital")
	l.register("x1", "77", "ssr", "EG")
	l.register("y1", "75", "udm", "EG")
	l.declare("b2", 0, 20, 0)
	l.declare("a1", 1, 18, 0)

	rows, err := l.a.Detail("dialyse", "77")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.ID)
	}
	if want := []string{"a1", "b2", "c1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Detail(dialyse, 77): got %v, want %v (by establishment, then id; no SSR, no 75)", got, want)
	}
	if r := rows[0]; r.Establishment != "EG" || r.Name != "UO a1" || r.ID != "a1" || r.Available != 1 || r.Installed != 18 ||
		!r.LastDeclaredAt.Equal(t0) || r.Phone != "01 00 00 00 00" || r.Pool != nil || r.Closure != nil {
		t.Fatalf("row: got %+v", rows[0])
	}

	rows, err = l.a.Detail("udm", "77")
	if err != nil || len(rows) != 1 || rows[0].ID != "b2" {
		t.Fatalf("Detail(udm, 77): got %+v, %v", rows, err)
	}
	rows, err = l.a.Detail("ssr", "77") // a category and a type of the same code
	if err != nil || len(rows) != 1 || rows[0].ID != "x1" {
		t.Fatalf("Detail(ssr, 77): got %+v, %v", rows, err)
	}
	rows, err = l.a.Detail("dialyse", "91")
	if err != nil || rows == nil || len(rows) != 0 {
		t.Fatalf("Detail(dialyse, 91): got %#v, %v; want an empty list", rows, err)
	}
}

func TestDetailInvalid(t *testing.T) {
	a := NewAvailability()
	for _, tc := range []struct{ row, dept string }{
		{"hemodialyse", "77"},
		{"", "77"},
		{"dialyse", "20"},
		{"dialyse", "7"},
		{"udm", ""},
	} {
		_, err := a.Detail(tc.row, tc.dept)
		if got := domain.ErrorCode(err); got != domain.EInvalid {
			t.Errorf("Detail(%q, %q): got code %q (%v), want %q", tc.row, tc.dept, got, err, domain.EInvalid)
		}
	}
}
