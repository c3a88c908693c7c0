package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The seed's week 2025-W10 at Thursday 6 March 2025 15:00 UTC: 77-EG-01 to
// -03 show 0/20, 1/18 and 0/24 all week, 77-EG-04 declares 0/0 at 14:30.
func TestTrendsCommand(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")

	out := mustDispo(t, "trends", "--data", data, "--from", "2025-03-03", "--to", "2025-W10", "--at", "2025-03-06T15:00:00Z", "--format", "json")
	var rep struct {
		Weeks []struct {
			Week         string  `json:"week"`
			Open         bool    `json:"open"`
			ElapsedHours float64 `json:"elapsed_hours"`
			Rows         []struct {
				Scope         string  `json:"scope"`
				MeanAvailable float64 `json:"mean_available"`
				MeanInstalled float64 `json:"mean_installed"`
				Declarations  int     `json:"declarations"`
				UnitsDeclared int     `json:"units_declared"`
				UnitsExpected int     `json:"units_expected"`
			} `json:"rows"`
			Missed []struct {
				UnitID string `json:"unit_id"`
			} `json:"missed"`
		} `json:"weeks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(rep.Weeks) != 1 || rep.Weeks[0].Week != "2025-W10" || !rep.Weeks[0].Open || rep.Weeks[0].ElapsedHours != 88 {
		t.Fatalf("weeks: %+v", rep.Weeks)
	}
	r := rep.Weeks[0].Rows[0]
	if r.Scope != "region" || r.MeanAvailable != 1 || r.MeanInstalled != 62 || r.Declarations != 1 || r.UnitsDeclared != 1 || r.UnitsExpected != 4 || len(rep.Weeks[0].Missed) != 3 {
		t.Fatalf("region: %+v, missed %v", r, rep.Weeks[0].Missed)
	}

	// --at before 77-EG-04's declaration: the replay stops there.
	out = mustDispo(t, "trends", "--data", data, "--from", "2025-03-03", "--to", "2025-03-03", "--at", "2025-03-06T15:00:00+01:00")
	lines := strings.Split(out, "\r\n")
	if !strings.HasPrefix(out, "\uFEFFSemaine;") || len(lines) < 2 {
		t.Fatalf("not the CSV: %q", out)
	}
	if want := "2025-W10;03/03/2025;09/03/2025;87,00;oui;Région;Tous;Tous;1,00;62,00;1;1;1;0;0;4;0,00;4;0,00;77-EG-01 77-EG-02 77-EG-03 77-EG-04"; lines[1] != want {
		t.Fatalf("region line\n got %q\nwant %q", lines[1], want)
	}
}

// The fixture's closure: 911496615-02 closed all of 2025-W44.
func TestTrendsCommandFixture(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"idf-dialyse.jsonl")
	out := mustDispo(t, "trends", "--data", data, "--from", "2025-W44", "--to", "2025-W44", "--department", "91", "--type", "autodialyse")
	lines := strings.Split(out, "\r\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "2025-W44;27/10/2025;02/11/2025;168,00;non;Département et type;91;Autodialyse;") ||
		!strings.Contains(lines[1], ";7,00;") {
		t.Fatalf("got %q", lines)
	}
}

func TestTrendsCommandLine(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trends", "--help"}, 0, "Usage: dispo trends"},
		{[]string{"trends", "-h"}, 0, "ISO week (2025-W41)"},
		{[]string{"trends", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"trends", "--data", data, "extra"}, 2, "Usage: dispo trends"},
		{[]string{"trends", "--data", data, "--format", "xml"}, 1, `"xml" is neither csv nor json`},
		{[]string{"trends", "--data", data, "--at", "yesterday"}, 1, "RFC 3339"},
		{[]string{"trends", "--data", data, "--from", "2025-13-01"}, 1, "n'est ni une date"},
		{[]string{"trends", "--data", data, "--from", "2025-03-10", "--to", "2025-03-03"}, 1, "from (2025-W11) est après to (2025-W10)"},
		{[]string{"trends", "--data", data, "--from", "2010-01-04", "--to", "2025-01-06"}, 1, "plus de 10 ans"},
		{[]string{"trends", "--data", data, "--department", "99x"}, 1, `département "99x" inconnu`},
		{[]string{"trends", "--data", data, "--type", "lunaire"}, 1, `type d'unité "lunaire" inconnu`},
		{[]string{"trends", "--data", "/nonexistent/dir"}, 1, "no event log there"},
		{[]string{"--help"}, 0, "trends"},
	} {
		code, out, errOut := dispo(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("dispo %v: exit %d, output %q; want exit %d with %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
	}
}
