package fhir_test

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"testing"

	"dispo/adapters/fhir"
	"dispo/adapters/jsonl"
	"dispo/projections"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// The NDJSON export of the seed: one conforming resource a line, every
// Location then every HealthcareService, byte for byte the golden file
// (go test -update rewrites it, to be read before it is committed).
func TestExportOfTheSeed(t *testing.T) {
	envs, err := jsonl.ReadFile("../../eventlog-fixtures/seed-77.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	a := projections.NewAvailability()
	for i := range envs {
		a.Apply(&envs[i])
	}
	var buf bytes.Buffer
	n, err := fhir.Export(&buf, a)
	if err != nil || n != 8 {
		t.Fatalf("Export: %d resources, %v; want the seed's 4 Locations and 4 HealthcareServices", n, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		mustConform(t, sc.Bytes())
		lines++
	}
	if lines != n {
		t.Fatalf("%d lines for %d resources", lines, n)
	}
	const golden = "testdata/seed-77.ndjson"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("the export differs from %s (go test -update rewrites it):\n%s", golden, buf.Bytes())
	}
}
