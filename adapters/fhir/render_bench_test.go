package fhir

import (
	"encoding/json"
	"testing"
	"time"

	"dispo/adapters/fixturegen"
	"dispo/projections"
)

// BenchmarkDirectory is what the first request after the log moved pays:
// laying out and rendering every Location and HealthcareService of the
// demo's 180 units. Its floor in the same run: encoding/json of the same
// units as the projections give them.
func BenchmarkDirectory(b *testing.B) {
	evs, err := fixturegen.Demo(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	a := projections.NewAvailability()
	for i := range evs {
		a.Apply(&evs[i])
	}
	var renderNs, floorNs time.Duration
	bytes := 0
	for b.Loop() {
		start := time.Now()
		d := newDirectory(a)
		if err := d.render(); err != nil {
			b.Fatal(err)
		}
		renderNs += time.Since(start)
		start = time.Now()
		raw, err := json.Marshal(a.AllUnits())
		if err != nil {
			b.Fatal(err)
		}
		floorNs += time.Since(start)
		bytes = len(raw)
	}
	b.ReportMetric(float64(renderNs.Microseconds())/float64(b.N), "render-µs")
	b.ReportMetric(float64(floorNs.Microseconds())/float64(b.N), "floor-µs")
	b.ReportMetric(float64(bytes)/1024, "units-json-KiB")
}
