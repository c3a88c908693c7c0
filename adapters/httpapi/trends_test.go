package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"dispo/domain"
)

// The seed's week 2025-W10 (Monday 3 March 2025, Paris), open: the test
// clock is Thursday 6 March 15:00 UTC, 16:00 in Paris, 88 hours after
// Monday 00:00. All week 77-EG-01, -02 and -03 show 0/20, 1/18 and 0/24;
// 77-EG-04 (0/0) declares on Thursday at 14:30 UTC; 75-OTHER-01 is
// registered at 15:00 UTC and never declares. Five units expected, one
// declared.
const trendsW10 = "/api/v1/trends/weekly?from=2025-03-03&to=2025-W10"

func TestTrendsJSON(t *testing.T) {
	e := newEnv(t)
	for _, role := range []domain.Role{domain.RoleAnalyst, domain.RoleAdmin} {
		res := e.login(role).do("GET", trendsW10, nil, nil)
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s %s", role, res.status, res.header.Get("Content-Type"), res.body)
		}
		if res.header.Get("ETag") != "" || res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: ETag %q, Cache-Control %q: the open week moves with the clock", role, res.header.Get("ETag"), res.header.Get("Cache-Control"))
		}
		weeks := res.json["weeks"].([]any)
		if len(weeks) != 1 {
			t.Fatalf("%d weeks: %s", len(weeks), res.body)
		}
		w := weeks[0].(map[string]any)
		if w["week"] != "2025-W10" || w["open"] != true || w["elapsed_hours"] != 88.0 || w["hours"] != 168.0 || w["start"] != "2025-03-03T00:00:00+01:00" {
			t.Errorf("week: %v", w)
		}
		region := w["rows"].([]any)[0].(map[string]any)
		for k, v := range map[string]any{"scope": "region", "department": "", "type": "", "mean_available": 1.0, "mean_installed": 62.0,
			"min_available": 1.0, "max_available": 1.0, "end_available": 1.0, "declarations": 1.0, "units_declared": 1.0,
			"units_expected": 5.0, "compliance": 0.2, "missed": 4.0, "days_closed": 0.0} {
			if region[k] != v {
				t.Errorf("%s: region %s = %v, want %v", role, k, region[k], v)
			}
		}
		var missed []string
		for _, m := range w["missed"].([]any) {
			missed = append(missed, m.(map[string]any)["unit_id"].(string))
		}
		if strings.Join(missed, " ") != "75-OTHER-01 77-EG-01 77-EG-02 77-EG-03" {
			t.Errorf("missed %v", missed)
		}
	}

	// Filters: department 77, type udm: one row, the cell.
	res := e.login(domain.RoleAnalyst).do("GET", trendsW10+"&department=77&type=udm", nil, nil)
	rows := res.json["weeks"].([]any)[0].(map[string]any)["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["mean_installed"] != 20.0 || rows[0].(map[string]any)["units_expected"] != 2.0 {
		t.Fatalf("77/udm rows: %v", rows)
	}

	// Six minutes later the open week has moved, at the same log position.
	c := e.login(domain.RoleAnalyst)
	before := c.do("GET", trendsW10, nil, nil)
	e.clock.Add(6 * time.Minute)
	after := c.do("GET", trendsW10, nil, nil)
	if before.header.Get("X-Dispo-Position") != after.header.Get("X-Dispo-Position") || before.body == after.body ||
		after.json["weeks"].([]any)[0].(map[string]any)["elapsed_hours"] != 88.1 {
		t.Fatalf("the answer did not follow the clock: %s", after.body)
	}
}

func TestTrendsCSV(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleAnalyst)
	for name, res := range map[string]response{
		"Accept":     c.do("GET", trendsW10, nil, map[string]string{"Accept": "text/csv"}),
		"format=csv": c.do("GET", trendsW10+"&format=csv", nil, nil),
		"q values":   c.do("GET", trendsW10, nil, map[string]string{"Accept": "application/json;q=0.5, text/csv"}),
	} {
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("%s: %d %s %s", name, res.status, res.header.Get("Content-Type"), res.body)
		}
		if cd := res.header.Get("Content-Disposition"); cd != `attachment; filename="dispo-tendances-2025-W10-2025-W10.csv"` {
			t.Errorf("%s: Content-Disposition %q", name, cd)
		}
		if !strings.HasPrefix(res.body, "\uFEFFSemaine;Début;Fin;Heures;") {
			t.Fatalf("%s: no BOM and French header: %q", name, res.body)
		}
		lines := strings.Split(res.body, "\r\n")
		if len(lines) < 3 || lines[len(lines)-1] != "" {
			t.Fatalf("%s: not CRLF lines: %q", name, res.body)
		}
		want := "2025-W10;03/03/2025;09/03/2025;88,00;oui;Région;Tous;Tous;1,00;62,00;1;1;1;1;1;5;20,00;4;0,00;75-OTHER-01 77-EG-01 77-EG-02 77-EG-03"
		if lines[1] != want {
			t.Errorf("%s: region line\n got %q\nwant %q", name, lines[1], want)
		}
	}
	res := c.do("GET", trendsW10+"&department=77&type=centre_lourd&format=csv", nil, nil)
	if cd := res.header.Get("Content-Disposition"); cd != `attachment; filename="dispo-tendances-2025-W10-2025-W10-77-centre-lourd.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	// JSON stays the default, and wins ties it is listed first in.
	for _, accept := range []string{"", "*/*", "application/json, text/csv", "text/csv;q=0, application/json", "text/html"} {
		if res := c.do("GET", trendsW10, nil, map[string]string{"Accept": accept}); res.header.Get("Content-Type") != "application/json" {
			t.Errorf("Accept %q: %s", accept, res.header.Get("Content-Type"))
		}
	}
}

func TestTrendsForbidden(t *testing.T) {
	e := newEnv(t)
	for _, role := range []domain.Role{domain.RoleResponsable, domain.RoleProfessionnel, domain.RoleAuditor} {
		e.login(role).do("GET", trendsW10, nil, nil).problem(t, http.StatusForbidden, "forbidden")
		e.login(role).do("GET", "/api/v1/trends/weekly?from=nonsense", nil, nil).problem(t, http.StatusForbidden, "forbidden")
	}
	e.login("").do("GET", trendsW10, nil, nil).problem(t, http.StatusUnauthorized, "unauthorized")
}

func TestTrendsBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleAnalyst)
	for _, tc := range []struct{ query, detail string }{
		{"from=2025-13-01", "n'est ni une date"},
		{"from=2025-02-30", "n'est ni une date"},
		{"from=03%2F03%2F2025", "n'est ni une date"},
		{"to=2025-W54", "pas de semaine ISO 54"},
		{"from=1999-12-31", "hors des dates possibles"},
		{"to=2200-01-01", "hors des dates possibles"},
		{"from=2025-03-10&to=2025-03-03", "est après to"},
		{"from=2010-01-04&to=2025-01-06", "plus de 10 ans"},
		{"department=99x", "inconnu"},
		{"department=20", "inconnu"},
		{"type=dialyse_lunaire", "inconnu"},
		{"format=xml", "format doit valoir json ou csv"},
		{"format=csv&format=json", "plusieurs fois"},
		{"from=2025-03-03&from=2025-03-10", "plusieurs fois"},
		{"bogus=1", "paramètre inconnu"},
		{"Department=77", "paramètre inconnu"},
		{"min_position=abc", "min_position"},
	} {
		res := c.do("GET", "/api/v1/trends/weekly?"+tc.query, nil, map[string]string{"Accept": "text/csv"})
		code := "invalid"
		switch tc.detail {
		case "plusieurs fois":
			code = "repeated_parameter"
		case "paramètre inconnu":
			code = "unknown_parameter"
		}
		res.problem(t, http.StatusBadRequest, code)
		if d, _ := res.json["detail"].(string); !strings.Contains(d, tc.detail) {
			t.Errorf("%s: detail %q, want ...%s...", tc.query, d, tc.detail)
		}
	}
	res := c.do("POST", "/api/v1/trends/weekly", `{}`, nil)
	res.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
}
