package httpapi_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dispo/adapters/httpapi"
	"dispo/adapters/jsonl"
	"dispo/domain"
	"dispo/projections"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func paris(y int, m time.Month, d int) time.Time {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// The fixture's Paris (75) weeks as CSV, its pool included, against the
// golden file French spreadsheets were checked with.
func TestTrendsCSVGolden(t *testing.T) {
	evs, err := jsonl.ReadFile(filepath.Join("..", "..", "eventlog-fixtures", "idf-dialyse.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	tr := projections.NewTrends()
	for i := range evs {
		tr.Apply(&evs[i])
	}
	rep, err := tr.Weekly(projections.TrendQuery{From: "2025-W41", To: "2025-W42", Department: "75", Now: paris(2026, 3, 30)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := httpapi.WriteTrendsCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "trends-idf-75-csv.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("WriteTrendsCSV differs from %s (go test ./adapters/httpapi -run CSVGolden -update rewrites it):\n%s", path, b.String())
	}
}

func TestWriteTrendsCSV(t *testing.T) {
	tr := projections.NewTrends()
	fold := func(when time.Time, unit string, ev domain.Event) {
		env := domain.Envelope{Stream: domain.UnitStream(unit), Position: tr.Position() + 1, RecordedAt: when.UTC(), Event: ev}
		tr.Apply(&env)
	}
	unit := func(id, typ string) domain.Unit {
		return domain.Unit{ID: id, FINESS: "770000000", Establishment: "Etablissement 77", Department: "77", Type: typ, Name: "UO " + id}
	}
	fold(paris(2025, 10, 6), "u1", domain.UnitRegistered{Unit: unit("u1", "udm")})
	fold(paris(2025, 10, 6), "u1", domain.AvailabilityDeclared{Available: 10, Installed: 20})
	fold(paris(2025, 10, 9), "u1", domain.AvailabilityDeclared{Available: 0, Installed: 20})
	fold(paris(2025, 10, 6), "u2", domain.UnitRegistered{Unit: unit("u2", "entrainement")})
	rep, err := tr.Weekly(projections.TrendQuery{From: "2025-W41", To: "2025-W41", Now: paris(2025, 10, 13)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := httpapi.WriteTrendsCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "\uFEFFSemaine;Début;Fin;Heures;") || !strings.HasSuffix(out, "\r\n") {
		t.Fatalf("no BOM, French header or CRLF: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	want := []string{
		"2025-W41;06/10/2025;12/10/2025;168,00;non;Région;Tous;Tous;4,29;20,00;0;10;0;2;1;2;50,00;1;0,00;u2",
		"2025-W41;06/10/2025;12/10/2025;168,00;non;Département;77;Tous;4,29;20,00;0;10;0;2;1;2;50,00;1;0,00;u2",
		"2025-W41;06/10/2025;12/10/2025;168,00;non;Type;Tous;Unité de dialyse médicalisée;4,29;20,00;0;10;0;2;1;1;100,00;0;0,00;",
		"2025-W41;06/10/2025;12/10/2025;168,00;non;Type;Tous;Entraînement;0,00;0,00;;;;0;0;1;0,00;1;0,00;u2",
	}
	for i, w := range want {
		if i+1 >= len(lines) || lines[i+1] != w {
			t.Fatalf("line %d:\n got %q\nwant %q\n(all: %q)", i+2, lines[min(i+1, len(lines)-1)], w, lines)
		}
	}
}
