package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dispo runs a command line in-process, as main would, and returns its exit
// status, standard output and standard error.
func dispo(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Now:    func() time.Time { return time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC) },
		Getenv: func(string) string { return "" }}
	code := env.run(context.Background(), args)
	return code, out.String(), errOut.String()
}

const fixtures = "../../eventlog-fixtures/"

func mustDispo(t *testing.T, args ...string) string {
	t.Helper()
	return mustDispoIn(t, "", args...)
}

// mustDispoIn is mustDispo with stdin as standard input.
func mustDispoIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := dispo(t, stdin, args...)
	if code != 0 {
		t.Fatalf("dispo %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// The "done when" of the core: import the seed's table, replay, see its rows.
func TestImportThenReplayPrintsTheSeedTable(t *testing.T) {
	data := t.TempDir()
	out := mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	if !strings.Contains(out, "14 appended") {
		t.Fatalf("import said %q", out)
	}
	out = mustDispo(t, "replay", "--data", data)
	want := []string{
		"Département 77",
		"EG  Unité de dialyse médicalisée  0 / 20  12:47 le 09/08/2024",
		"EG  Auto dialyse                  1 / 18  12:47 le 09/08/2024",
		"EG  Centre Lourd                  0 / 24  12:47 le 09/08/2024",
		"EG  Unité de dialyse médicalisée  0 / 0   15:30 le 06/03/2025",
	}
	at := 0
	for _, w := range want {
		i := strings.Index(out[at:], w)
		if i < 0 {
			t.Fatalf("replay output lacks %q (in order):\n%s", w, out)
		}
		at += i + len(w)
	}
}

func TestImportIsIdempotent(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"idf-dialyse.jsonl")
	before := mustDispo(t, "export", "--data", data)
	out := mustDispo(t, "import", "--data", data, fixtures+"idf-dialyse.jsonl")
	if !strings.Contains(out, " 0 appended") {
		t.Fatalf("second import said %q", out)
	}
	if after := mustDispo(t, "export", "--data", data); after != before {
		t.Fatal("second import changed the log")
	}
}

// Export re-imports to an identical log: same ids, streams, revisions, positions.
func TestExportReimportsIdentically(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	mustDispo(t, "import", "--data", a, fixtures+"idf-dialyse.jsonl")
	first := filepath.Join(t.TempDir(), "first.jsonl")
	mustDispo(t, "export", "--data", a, "--out", first)
	mustDispo(t, "import", "--data", b, first)
	second := mustDispo(t, "export", "--data", b)
	want, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	if second != string(want) {
		t.Fatal("export of the re-imported log differs from the first export")
	}
	fixture, _ := os.ReadFile(fixtures + "idf-dialyse.jsonl")
	if !bytes.Equal(fixture, want) {
		t.Fatal("export of the imported fixture differs from the fixture")
	}
}

func TestBadImportAppendsNothing(t *testing.T) {
	seed, err := os.ReadFile(fixtures + "seed-77.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(seed)), "\n")
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	before := mustDispo(t, "export", "--data", data)

	closeLine := `{"id":"6f1c0a52-9a4e-4b8e-8d0b-5b1f2a6c7d90","stream":"unit-nope","type":"unit.reopened","schema_version":1,"recorded_at":"2025-03-07T10:00:00Z","source":"import","data":{}}`
	for _, tc := range []struct {
		name, file, want string
	}{
		{"malformed third line", strings.Join([]string{lines[0], lines[1], "{not json", lines[2]}, "\n"), "line 3"},
		{"unknown event type", strings.Replace(lines[0], `"unit.registered"`, `"unit.exploded"`, 1), "line 1"},
		{"invalid UTF-8", strings.Replace(lines[0], "EG", "E\xffG", 1), "line 1"},
		{"event of an unregistered unit", closeLine, "introuvable"},
		{"the same id twice", lines[0] + "\n" + lines[0], "line 2"},
		{"empty input", "", ""},
	} {
		code, _, errOut := dispo(t, tc.file, "import", "--data", data, "-")
		if tc.want == "" {
			continue
		}
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 naming %q", tc.name, code, errOut, tc.want)
		}
		if after := mustDispo(t, "export", "--data", data); after != before {
			t.Fatalf("%s: a refused import changed the log", tc.name)
		}
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"import", "--help"}, 0, "Usage: dispo import"},
		{[]string{"replay", "-h"}, 0, "--department"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"import"}, 2, "Usage: dispo import"},
		{[]string{"replay", "extra"}, 2, "Usage: dispo replay"},
		{[]string{"export", "extra"}, 2, "Usage: dispo export"},
		{[]string{"history"}, 2, "Usage: dispo history"},
		{[]string{"serve", "extra"}, 2, "Usage: dispo serve"},
		{[]string{"import", "--bogus", "x"}, 2, "flag provided but not defined"},
		{[]string{"replay", "--data", "/nonexistent/dir"}, 1, "no event log there"},
		{[]string{"replay", "--at", "yesterday"}, 1, "RFC 3339"},
		{[]string{"import", "/nonexistent/file.jsonl"}, 1, "no such file"},
	} {
		code, out, errOut := dispo(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("dispo %v: exit %d, output %q; want exit %d with %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
	}
}

func TestForeignFileAsLog(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "events.db"), bytes.Repeat([]byte("not a log\n"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := dispo(t, "", "import", "--data", data, fixtures+"seed-77.jsonl")
	if code != 1 || !strings.Contains(errOut, "damaged or foreign file") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestHistory(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	out := mustDispo(t, "history", "--data", data, "77-EG-02")
	for _, want := range []string{"77-EG-02 — Auto dialyse, EG (FINESS 770110054)", "12:47 le 09/08/2024", "availability.declared", "1 / 18 (0)", "(responsable, 770110054)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("history lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 2+1+5 {
		t.Fatalf("history has %d lines, want a header and 5 events:\n%s", n, out)
	}
	// --json is the API's history schema, one event per line.
	lines := strings.Split(strings.TrimSpace(mustDispo(t, "history", "--data", data, "--json", "77-EG-02")), "\n")
	if len(lines) != 5 {
		t.Fatalf("history --json: %d lines, want 5", len(lines))
	}
	var ev struct {
		Type          string            `json:"type"`
		RecordedParis string            `json:"recorded_at_paris"`
		Actor         map[string]string `json:"actor"`
		State         map[string]any    `json:"state"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type == "" || ev.RecordedParis == "" || ev.Actor["user_id"] == "" || ev.Actor["UserID"] != "" ||
		ev.State["unit_id"] != "77-EG-02" || ev.State["closed_places"] == nil || ev.State["unit_closed"] != false || ev.State["band"] == nil {
		t.Fatalf("history --json is not the API's schema: %s", lines[len(lines)-1])
	}
	early := mustDispo(t, "history", "--data", data, "--at", "2024-08-06T00:00:00Z", "--json", "77-EG-02")
	if strings.Count(early, "\n") >= 5 || strings.Contains(early, "2024-08-09") {
		t.Fatalf("history --at kept later events:\n%s", early)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"history", "--data", data, "77-NOPE"}, "has no event"},
		{[]string{"history", "--data", data, "../etc"}, "not a unit id"},
		{[]string{"history", "--data", data, "--at", "hier", "77-EG-01"}, "RFC 3339"},
	} {
		if code, _, errOut := dispo(t, "", tc.args...); code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errOut)
		}
	}
}

// replay --at shows the ledger as it stood then.
func TestReplayAsOf(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	out := mustDispo(t, "replay", "--data", data, "--department", "77", "--at", "2024-08-06T12:00:00+02:00")
	if strings.Contains(out, "09/08/2024") || strings.Contains(out, "06/03/2025") || !strings.Contains(out, "05/08/2024") {
		t.Fatalf("replay as of 06/08/2024 shows other days:\n%s", out)
	}
}

// export --format fhir: the FHIR resources as NDJSON, now or as of --at;
// a format or an --at it cannot serve is refused before anything is written.
func TestExportFHIR(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	resources := func(args ...string) map[string]map[string]any {
		out := mustDispo(t, append([]string{"export", "--data", data, "--format", "fhir"}, args...)...)
		got := map[string]map[string]any{}
		for line := range strings.Lines(out) {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("not one JSON resource a line: %v\n%s", err, line)
			}
			got[r["resourceType"].(string)+"/"+r["id"].(string)] = r
		}
		return got
	}
	available := func(loc map[string]any) float64 {
		for _, e := range loc["extension"].([]any) {
			e := e.(map[string]any)
			if !strings.HasSuffix(e["url"].(string), "ror-location-supported-capacity") {
				continue
			}
			var status string
			var n float64
			for _, s := range e["extension"].([]any) {
				s := s.(map[string]any)
				switch s["url"] {
				case "capacityStatus":
					status = s["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
				case "nbCapacity":
					n = s["valueInteger"].(float64)
				}
			}
			if status == "02" {
				return n
			}
		}
		return -1
	}
	now := resources()
	if len(now) != 8 || available(now["Location/uo-77-EG-02"]) != 1 {
		t.Fatalf("export now: %d resources, EG-02 %v available", len(now), available(now["Location/uo-77-EG-02"]))
	}
	past := resources("--at", "2024-08-06T00:00:00+02:00")
	if len(past) != 6 || available(past["Location/uo-77-EG-02"]) != 2 {
		t.Fatalf("export as of 6 August 2024: %d resources, EG-02 %v available", len(past), available(past["Location/uo-77-EG-02"]))
	}
	out := filepath.Join(t.TempDir(), "dispo.ndjson")
	if code, _, errOut := dispo(t, "", "export", "--data", data, "--format", "fhir", "--out", out); code != 0 || !strings.Contains(errOut, "exported 8 FHIR resources") {
		t.Fatalf("export --out: exit %d %q", code, errOut)
	}
	for _, args := range [][]string{{"--format", "xml"}, {"--at", "2024-08-06"}, {"--format", "fhir", "--at", "hier"}} {
		target := filepath.Join(t.TempDir(), "refused.ndjson")
		code, _, errOut := dispo(t, "", append([]string{"export", "--data", data, "--out", target}, args...)...)
		if code == 0 || errOut == "" {
			t.Errorf("export %v: exit %d %q, want refused", args, code, errOut)
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("export %v was refused but wrote %s", args, target)
		}
	}
}
