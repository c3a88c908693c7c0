package fhir

import (
	"bufio"
	"io"

	"dispo/projections"
)

// Export writes every Location then every HealthcareService of a as
// NDJSON, one resource a line (FHIR Bulk Data's format), in id order.
// It returns the number of resources written.
func Export(w io.Writer, a *projections.Availability) (int, error) {
	d := newDirectory(a)
	if err := d.render(); err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	n := 0
	for _, body := range append(d.siteJSON, d.serviceJSON...) {
		bw.Write(body)
		if err := bw.WriteByte('\n'); err != nil {
			return n, err
		}
		n++
	}
	return n, bw.Flush()
}
