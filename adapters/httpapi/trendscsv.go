package httpapi

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"dispo/domain"
	"dispo/projections"
)

// The trends' CSV is a presentation of the report, shared by the API
// (format=csv) and dispo trends --format csv.

// WriteTrendsCSV writes the report for spreadsheets as French Excel opens them:
// UTF-8 with a byte order mark, fields separated by semicolons, decimal
// commas, CRLF line ends, a header row in French; one line per week and
// row, the missed units of the row's group in the last column.
func WriteTrendsCSV(w io.Writer, r projections.TrendReport) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma, cw.UseCRLF = ';', true
	cw.Write([]string{"Semaine", "Début", "Fin", "Heures", "Semaine en cours", "Périmètre", "Département", "Type",
		"Disponibles (moyenne)", "Installés (moyenne)", "Disponibles (min)", "Disponibles (max)", "Disponibles (fin de semaine)",
		"Déclarations", "Unités ayant déclaré", "Unités attendues", "Taux de conformité (%)", "Unités sans déclaration",
		"Jours de fermeture", "Unités sans déclaration (liste)"})
	for _, wk := range r.Weeks {
		for _, row := range wk.Rows {
			var missed []string
			for _, m := range wk.Missed {
				if (row.Department == "" || row.Department == m.Department) && (row.Type == "" || row.Type == m.Type) {
					missed = append(missed, m.UnitID)
				}
			}
			yes := "non"
			if wk.Open {
				yes = "oui"
			}
			rate := ""
			if row.Compliance != nil {
				rate = frenchDecimal(100**row.Compliance, 2)
			}
			cw.Write([]string{wk.Week, wk.Start.Format("02/01/2006"), wk.End.AddDate(0, 0, -1).Format("02/01/2006"),
				frenchDecimal(wk.ElapsedHours, 2), yes, scopeLabels[row.Scope], departmentLabel(row.Department), typeLabel(row.Type),
				frenchDecimal(row.MeanAvailable, 2), frenchDecimal(row.MeanInstalled, 2),
				optional(row.MinAvailable), optional(row.MaxAvailable), optional(row.EndAvailable),
				strconv.Itoa(row.Declarations), strconv.Itoa(row.UnitsDeclared), strconv.Itoa(row.UnitsExpected), rate,
				strconv.Itoa(row.Missed), frenchDecimal(row.DaysClosed, 2), strings.Join(missed, " ")})
		}
	}
	cw.Flush()
	return cw.Error()
}

var scopeLabels = map[string]string{
	projections.ScopeRegion:         "Région",
	projections.ScopeDepartment:     "Département",
	projections.ScopeType:           "Type",
	projections.ScopeDepartmentType: "Département et type",
}

func departmentLabel(d string) string {
	if d == "" {
		return "Tous"
	}
	return d
}

func typeLabel(code string) string {
	if code == "" {
		return "Tous"
	}
	if t, ok := domain.LookupType(code); ok {
		return t.Label
	}
	return code
}

// frenchDecimal formats x with prec decimals and a decimal comma.
func frenchDecimal(x float64, prec int) string {
	return strings.Replace(strconv.FormatFloat(x, 'f', prec, 64), ".", ",", 1)
}

func optional(n *int64) string {
	if n == nil {
		return ""
	}
	return strconv.FormatInt(*n, 10)
}
