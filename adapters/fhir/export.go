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
	bw := bufio.NewWriter(w)
	n := 0
	line := func(v any) error {
		body, err := marshal(v)
		if err != nil {
			return err
		}
		bw.Write(body)
		n++
		return bw.WriteByte('\n')
	}
	for i := range d.sites {
		if err := line(d.sites[i].location()); err != nil {
			return n, err
		}
	}
	for _, u := range d.services {
		if err := line(service(u, &d.sites[d.siteOf[u.ID]])); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}
