package main

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"dispo/domain"
	"dispo/projections"
)

// textFold folds the events the text tests make, one stream per unit, all
// recorded at at.
type textFold struct {
	tb   testing.TB
	a    *projections.Availability
	pos  uint64
	revs map[string]uint64
	at   time.Time
}

func newTextFold(tb testing.TB) *textFold {
	return &textFold{tb: tb, a: projections.NewAvailability(), revs: map[string]uint64{}, at: textStart}
}

// textStart is the seed's 12:47 on 9 August 2024 in Paris.
var textStart = time.Date(2024, 8, 9, 10, 47, 0, 0, time.UTC)

func (f *textFold) unitEvent(id string, ev domain.Event) {
	f.tb.Helper()
	f.pos++
	stream := domain.UnitStream(id)
	env := &domain.Envelope{Stream: stream, Position: f.pos, Revision: f.revs[stream], RecordedAt: f.at,
		Actor: domain.Actor{UserID: "tester", Role: domain.RoleAdmin}, Source: domain.SourceManual, Event: ev}
	binary.BigEndian.PutUint64(env.ID[8:], f.pos)
	if err := env.Validate(); err != nil {
		f.tb.Fatalf("invalid envelope %s: %v", ev.EventType(), err)
	}
	f.revs[stream]++
	f.a.Apply(env)
}

func textUnit(id, dept, typ, est string) domain.Unit {
	return domain.Unit{ID: id, FINESS: (dept + "000000000")[:9], Establishment: est, Department: dept,
		Type: typ, Name: "UO " + id, Phone: "01 00 00 00 00"}
}

func (f *textFold) register(id, dept, typ, est string) {
	f.tb.Helper()
	f.unitEvent(id, domain.UnitRegistered{Unit: textUnit(id, dept, typ, est)})
}

func (f *textFold) declare(id string, available, installed, closed int) {
	f.tb.Helper()
	f.unitEvent(id, domain.AvailabilityDeclared{Available: available, Installed: installed, ClosedPlaces: closed})
}

// TestWriteDetailSeed rebuilds the seed's table for department 77.
func TestWriteDetailSeed(t *testing.T) {
	l := newTextFold(t)
	aug := time.Date(2024, 8, 9, 10, 47, 0, 0, time.UTC)
	mar := time.Date(2025, 3, 6, 14, 30, 0, 0, time.UTC)
	reg := func(id, typ, name string) {
		u := textUnit(id, "77", typ, "EG")
		u.Name, u.Phone = name, ""
		l.unitEvent(id, domain.UnitRegistered{Unit: u})
	}
	reg("eg1", "udm", "Unité de dialyse médicalisée")
	reg("eg2", "autodialyse", "Auto dialyse")
	reg("eg3", "centre_lourd", "Centre Lourd")
	reg("eg4", "udm", "Unité de dialyse médicalisée")
	l.at = aug
	l.declare("eg1", 0, 20, 0)
	l.declare("eg2", 1, 18, 0)
	l.declare("eg3", 0, 24, 0)
	l.at = mar
	l.declare("eg4", 0, 0, 0)

	rows, err := l.a.Detail("dialyse", "77")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeDetail(&b, "77", rows); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	want := "Etablissement  Nom de l'UO  disponibles / installés  Etat  Téléphone\n" +
		"Département 77\n" +
		"EG  Unité de dialyse médicalisée  0 / 20  12:47 le 09/08/2024\n" +
		"EG  Auto dialyse                  1 / 18  12:47 le 09/08/2024\n" +
		"EG  Centre Lourd                  0 / 24  12:47 le 09/08/2024\n" +
		"EG  Unité de dialyse médicalisée  0 / 0   15:30 le 06/03/2025\n"
	if got != want {
		t.Fatalf("writeDetail:\ngot\n%s\nwant\n%s", got, want)
	}
}

func TestWriteDetailMarkers(t *testing.T) {
	rows := []projections.UnitView{
		{Unit: domain.Unit{Establishment: "EG", Name: "A", ID: "a", Phone: "01 23"}, Installed: 5, LastDeclaredAt: textStart, Closure: &domain.Closure{Reason: "travaux"}},
		{Unit: domain.Unit{Establishment: "EG", Name: "B", ID: "b"}, Available: 2, Installed: 5, LastDeclaredAt: textStart, Pool: &projections.PoolView{ID: "P"}, Comment: "1 place le 11/03 à 10h"},
		{Unit: domain.Unit{Establishment: "EG", Name: "C", ID: "c"}},
	}
	var b strings.Builder
	if err := writeDetail(&b, "93", rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 || lines[1] != "Département 93" {
		t.Fatalf("writeDetail lines: got %q", lines)
	}
	if l := lines[2]; !strings.HasSuffix(l, "  "+markClosed) || strings.Contains(l, markPooled) {
		t.Errorf("closed unit line %q: want it to end with %q", l, markClosed)
	}
	if l := lines[3]; !strings.Contains(l, "  "+markPooled+" ") || !strings.HasSuffix(l, "  1 place le 11/03 à 10h") || strings.Contains(l, markClosed) {
		t.Errorf("pooled unit line %q: want %q then the comment", l, markPooled)
	}
	if l := lines[4]; strings.Contains(l, markClosed) || strings.Contains(l, markPooled) || l != "EG  C  0 / 0" {
		t.Errorf("plain never-declared unit: got %q, want %q", l, "EG  C  0 / 0")
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing blanks in %q", l)
		}
	}
}

func TestWriteMatrix(t *testing.T) {
	l := newTextFold(t)
	l.register("a", "77", "udm", "EG")
	l.register("b", "75", "centre_lourd", "X")
	l.declare("a", 0, 20, 0)
	l.declare("b", 3, 24, 0)
	var b strings.Builder
	if err := writeMatrix(&b, l.a.Matrix()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	fields := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, want := range []string{
		"disponibles / installés 75 77 78 91 92 93 94 95 Total",
		"Dialyse 3 / 24 0 / 20 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 3 / 44",
		"Centre lourd 3 / 24 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 3 / 24",
		"Unité de dialyse médicalisée 0 / 0 0 / 20 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 0 / 20",
		"Total 3 / 24 0 / 20 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 0 / 0 3 / 44",
	} {
		found := false
		for _, l := range lines {
			found = found || fields(l) == want
		}
		if !found {
			t.Errorf("no line %q in\n%s", want, b.String())
		}
	}
	if n, want := len(lines), 1+len(domain.Categories)+2+1; n != want {
		t.Errorf("%d lines, want %d:\n%s", n, want, b.String())
	}
	if !strings.HasPrefix(lines[7], "  Centre lourd") {
		t.Errorf("type rows are not indented: %q", lines[7])
	}
	// Columns are aligned: every cell of the Total column starts at the same rune.
	col := -1
	for _, l := range lines {
		i := strings.LastIndex(l, "  ")
		if c := len([]rune(l[:i])); col < 0 {
			col = c
		} else if c != col {
			t.Errorf("Total column not aligned in %q", l)
		}
	}
}
