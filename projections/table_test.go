package projections_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"dispo/projections"
)

// writeMatrix and writeDetail lay the views out as dispo replay prints them
// (cmd/dispo/text.go), so that the golden files read as people see the
// tables; the command's own tests check its renderings.
func writeMatrix(w io.Writer, m projections.Matrix) error {
	var lines [][]string
	row := func(r projections.MatrixRow) {
		label := r.Label
		if r.Kind == projections.TypeRow {
			label = "  " + label
		}
		cells := []string{label}
		for _, c := range r.Cells {
			cells = append(cells, ratioOf(c))
		}
		lines = append(lines, append(cells, ratioOf(r.Total)))
	}
	lines = append(lines, append(append([]string{"disponibles / installés"}, m.Departments...), "Total"))
	for _, r := range m.Rows {
		row(r)
	}
	row(m.Total)
	return writeAligned(w, lines)
}

func writeDetail(w io.Writer, department string, rows []projections.UnitView) error {
	lines := [][]string{{"Etablissement", "Nom de l'UO", "disponibles / installés", "Etat", "Téléphone"}, {"Département " + department}}
	if len(rows) == 0 {
		lines = append(lines, []string{"(aucune unité)"})
	}
	for _, r := range rows {
		var marks []string
		if r.IsUnitClosed() {
			marks = append(marks, "indisponibilité totale")
		}
		if r.Pool != nil {
			marks = append(marks, "mutualisé")
		}
		lines = append(lines, []string{r.Establishment, r.Name, ratioOf(projections.Cell{Available: r.Available, Installed: r.Installed}),
			projections.FormatParis(r.LastDeclaredAt), r.Phone, strings.Join(marks, ", "), r.Comment})
	}
	return writeAligned(w, lines)
}

func ratioOf(c projections.Cell) string { return fmt.Sprintf("%d / %d", c.Available, c.Installed) }

// writeAligned aligns the cells two spaces apart, without trailing blanks.
func writeAligned(w io.Writer, lines [][]string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for l := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(l, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}
