package esdblog_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"dispo/adapters/jsonl"
)

// Import through AppendBatch, part after part: a second import appends
// nothing, and the export is the file again, positions included. The
// department-77 seed by default; DISPO_IMPORT_FIXTURE names another
// fixture (idf-dialyse.jsonl: 16,747 events, one round trip per part).
func TestImportTwiceAndExport(t *testing.T) {
	name := "seed-77.jsonl"
	if f := os.Getenv("DISPO_IMPORT_FIXTURE"); f != "" {
		name = f
	}
	data, err := os.ReadFile("../../eventlog-fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.CallTimeout = 30 * time.Second
	l := mustOpen(t, startStandin(t).URL(), opts)
	ctx := testCtx(t)
	start := time.Now()
	first, err := jsonl.Import(ctx, l, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first import: %d events in %v", first.Events, time.Since(start))
	if first.Appended != first.Events || first.Events != bytes.Count(data, []byte("\n")) {
		t.Fatalf("first import: %+v, want every event appended", first)
	}
	start = time.Now()
	again, err := jsonl.Import(ctx, l, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second import: %d events in %v", again.Events, time.Since(start))
	if again.Appended != 0 {
		t.Fatalf("second import appended %d events, want 0", again.Appended)
	}
	var out bytes.Buffer
	if _, err := jsonl.Export(ctx, l, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("export differs from the imported file (%d bytes, want %d)", out.Len(), len(data))
	}
}
