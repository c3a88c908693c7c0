package projections_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dispo/adapters/jsonl"
	"dispo/domain"
	"dispo/projections"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func readFixture(t *testing.T, name string) []domain.Envelope {
	t.Helper()
	evs, err := jsonl.ReadFile(filepath.Join("..", "eventlog-fixtures", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return evs
}

// render writes every view of a fold, as people would read them.
func render(t *testing.T, a *projections.Availability, now time.Time) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "position %d\n\n", a.Position())
	m := a.Matrix()
	if err := writeMatrix(&b, m); err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Departments {
		rows, err := a.Detail("dialyse", d)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n")
		if err := writeDetail(&b, d, rows); err != nil {
			t.Fatal(err)
		}
	}
	f := a.Freshness(now)
	fmt.Fprintf(&b, "\nfreshness at %s\n", projections.FormatParis(now))
	for _, d := range f.Departments {
		fmt.Fprintf(&b, "%-4s", d.Department)
		for band, n := range d.Bands {
			fmt.Fprintf(&b, "  %s: %d", projections.Band(band), n)
		}
		b.WriteString("\n")
	}
	b.WriteString("overdue:\n")
	for _, u := range f.Overdue {
		fmt.Fprintf(&b, "  %s %s (last %s)\n", u.ID, u.Name, projections.FormatParis(u.LastDeclaredAt))
	}
	b.WriteString("\nunits:\n")
	for _, u := range a.Units() {
		closed := ""
		if u.Closure != nil {
			closed = " closed: " + u.Closure.Reason
		}
		pool := ""
		if u.Pool != nil {
			pool = u.Pool.ID
		}
		fmt.Fprintf(&b, "  %s %s %s %s %d/%d/%d pool=%q comment=%q rev=%d%s\n", u.Department, u.ID, u.Type, u.FINESS,
			u.Available, u.Installed, u.ClosedPlaces, pool, u.Comment, u.Revision, closed)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./projections -run Golden -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < min(len(gl), len(wl)); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got %q\nwant %q\n(go test ./projections -run Golden -update rewrites it)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d", path, len(gl), len(wl))
	}
}

// Folding each fixture gives the checked-in views; folding it in pieces,
// with queries in between (as a live server does), gives the same.
func TestGoldenFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		now  time.Time
	}{
		{"seed-77.jsonl", time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC)},
		{"idf-dialyse.jsonl", time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			evs := readFixture(t, tc.file)
			whole := projections.NewAvailability()
			for i := range evs {
				whole.Apply(&evs[i])
			}
			got := render(t, whole, tc.now)
			golden(t, strings.TrimSuffix(tc.file, ".jsonl"), got)

			live := projections.NewAvailability()
			for i := range evs {
				live.Apply(&evs[i])
				if i%997 == 0 {
					_ = live.Matrix()
					_ = live.Freshness(tc.now)
				}
			}
			if again := render(t, live, tc.now); again != got {
				t.Fatal("the live fold and the rebuild from position 0 disagree")
			}
		})
	}
}
