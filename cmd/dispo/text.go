package main

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"dispo/projections"
)

// Text renderings of the projections for dispo replay: plain-text tables
// aligned with text/tabwriter, cells separated by at least two spaces.

// table collects tab-separated lines and writes them aligned, without the
// trailing blanks that empty last cells would leave.
type table struct {
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable() *table {
	t := &table{}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) line(cells ...string) {
	t.tw.Write([]byte(strings.Join(cells, "\t") + "\n")) // writes to a bytes.Buffer do not fail
}

func (t *table) writeTo(w io.Writer) error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var out bytes.Buffer
	for l := range strings.Lines(t.buf.String()) {
		out.WriteString(strings.TrimRight(l, " \n"))
		out.WriteByte('\n')
	}
	_, err := w.Write(out.Bytes())
	return err
}

func ratio(available, installed int) string {
	return strconv.Itoa(available) + " / " + strconv.Itoa(installed)
}

// writeMatrix writes m as a table: "disponibles / installés" per department
// and in total; type rows are indented under their category.
func writeMatrix(w io.Writer, m projections.Matrix) error {
	t := newTable()
	head := append([]string{"disponibles / installés"}, m.Departments...)
	t.line(append(head, "Total")...)
	row := func(r projections.MatrixRow) {
		label := r.Label
		if r.Kind == projections.TypeRow {
			label = "  " + label
		}
		cells := make([]string, 0, len(r.Cells)+2)
		cells = append(cells, label)
		for _, c := range r.Cells {
			cells = append(cells, ratio(c.Available, c.Installed))
		}
		t.line(append(cells, ratio(r.Total.Available, r.Total.Installed))...)
	}
	for _, r := range m.Rows {
		row(r)
	}
	row(m.Total)
	return t.writeTo(w)
}

// Markers of the seed's legend, in the last columns of writeDetail.
const (
	markClosed = "UO en indisponibilité totale, saisie bloquée"
	markPooled = "Lits mutualisés sur plusieurs UO"
)

// writeDetail writes the detail of one department as the seed shows it: the
// column names, "Département 77", then one line per unit (Etablissement,
// Nom de l'UO, disponibles / installés, Etat, Téléphone), then the markers
// of closed and pooled units and the comment. The unit lines are aligned
// among themselves, as in the seed, so that they read the same.
func writeDetail(w io.Writer, department string, rows []projections.UnitView) error {
	t := newTable()
	t.line("Etablissement", "Nom de l'UO", "disponibles / installés", "Etat", "Téléphone")
	t.line("Département " + department) // no tab: the unit lines align apart
	if len(rows) == 0 {
		t.line("(aucune unité)")
	}
	for _, r := range rows {
		var marks []string
		if r.IsUnitClosed() {
			marks = append(marks, markClosed)
		}
		if r.Pool != nil {
			marks = append(marks, markPooled)
		}
		t.line(r.Establishment, r.Name, ratio(r.Available, r.Installed), projections.FormatParis(r.LastDeclaredAt), r.Phone,
			strings.Join(marks, ", "), r.Comment)
	}
	return t.writeTo(w)
}
