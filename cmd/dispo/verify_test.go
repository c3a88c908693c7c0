package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"dispo/adapters/boltlog"
	"dispo/adapters/jsonl"
	"dispo/domain"
)

// chainedFile writes a JSONL log of three units, chained as the writers
// chain, with a seal after the declarations and a last event after it.
func chainedFile(t *testing.T) string {
	t.Helper()
	var envs []domain.Envelope
	last := map[string]domain.Hash{}
	revs := map[string]uint64{}
	at := time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC)
	add := func(stream string, ev domain.Event) {
		env := domain.Envelope{ID: domain.EventID(uuid.New()), Stream: stream, SchemaVersion: domain.CurrentSchema(ev.EventType()),
			Position: uint64(len(envs) + 1), Revision: revs[stream], RecordedAt: at,
			Actor: domain.Actor{UserID: "admin-test", Role: domain.RoleAdmin}, Source: domain.SourceImport, Event: ev}
		one := []domain.Envelope{env}
		if err := domain.Chain(one, last[stream]); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, one[0])
		last[stream], revs[stream] = one[0].Hash, revs[stream]+1
		at = at.Add(time.Minute)
	}
	ids := []string{"75-VA-01", "75-VA-02", "75-VA-03"}
	for i, id := range ids {
		add(domain.UnitStream(id), domain.UnitRegistered{Unit: domain.Unit{ID: id, FINESS: "750000001", Establishment: "VA",
			Department: "75", Type: "udm", Name: fmt.Sprintf("Unité vérifiée %d", i+1)}})
	}
	for k := range 3 {
		for _, id := range ids {
			add(domain.UnitStream(id), domain.AvailabilityDeclared{Available: k + 1, Installed: 12})
		}
	}
	var heads []domain.StreamHead
	for _, id := range ids {
		s := domain.UnitStream(id)
		heads = append(heads, domain.StreamHead{Stream: s, Revision: revs[s] - 1, Hash: last[s].String()})
	}
	add(domain.SealStream, domain.LogSealed{Heads: heads})
	add(domain.UnitStream(ids[0]), domain.AvailabilityDeclared{Available: 5, Installed: 12})

	var buf bytes.Buffer
	for i := range envs {
		line, err := jsonl.Marshal(&envs[i])
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"hash":`)) {
		t.Skip("waiting for JSONL hash keys")
	}
	name := filepath.Join(t.TempDir(), "chained.jsonl")
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// fileLines are the lines of a JSONL file with what verify needs to pick them.
type fileLine struct {
	text         string
	Stream, Type string
	Revision     uint64
}

func readLines(t *testing.T, name string) []fileLine {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var lines []fileLine
	for _, s := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		l := fileLine{text: s}
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	return lines
}

func writeLines(t *testing.T, lines []fileLine) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text + "\n")
	}
	name := filepath.Join(t.TempDir(), "tampered.jsonl")
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// renumber rewrites the positions gapless, as one hiding a deletion would.
func renumberLines(t *testing.T, lines []fileLine) []fileLine {
	t.Helper()
	for i := range lines {
		env, err := jsonl.Unmarshal([]byte(lines[i].text))
		if err != nil {
			t.Fatal(err)
		}
		env.Position = uint64(i + 1)
		b, err := jsonl.Marshal(&env)
		if err != nil {
			t.Fatal(err)
		}
		lines[i].text = string(b)
	}
	return lines
}

func index(t *testing.T, lines []fileLine, stream string, rev uint64) int {
	t.Helper()
	for i, l := range lines {
		if l.Stream == stream && l.Revision == rev {
			return i
		}
	}
	t.Fatalf("no line for %s@%d", stream, rev)
	return -1
}

func TestVerifyIntactLogAndExport(t *testing.T) {
	file := chainedFile(t)
	out := mustDispo(t, "verify", file)
	if !strings.Contains(out, "verified 14 events in 4 streams, 1 seals: intact") ||
		!strings.Contains(out, "1 events after the last seal") {
		t.Fatalf("verify said %q", out)
	}
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, file)
	if out := mustDispo(t, "verify", "--data", data); !strings.Contains(out, "verified 14 events in 4 streams, 1 seals: intact") {
		t.Fatalf("verify of the log said %q", out)
	}
	export := filepath.Join(t.TempDir(), "export.jsonl")
	mustDispo(t, "export", "--data", data, "--out", export)
	if out := mustDispo(t, "verify", export); !strings.Contains(out, "intact") {
		t.Fatalf("verify of the export said %q", out)
	}
	code, out, _ := dispo(t, mustRead(t, export), "verify", "-")
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify - : exit %d, %q", code, out)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVerifyTamperedExport(t *testing.T) {
	file := chainedFile(t)
	u1, u2 := domain.UnitStream("75-VA-01"), domain.UnitStream("75-VA-02")
	cases := []struct {
		name   string
		tamper func([]fileLine) []fileLine
		want   string // in the error
	}{
		{"a data value changed", func(l []fileLine) []fileLine {
			i := index(t, l, u2, 2)
			l[i].text = strings.Replace(l[i].text, `"available":2`, `"available":3`, 1)
			return l
		}, "line 8: position 8: stream unit-75-VA-02 revision 2"},
		{"a line deleted", func(l []fileLine) []fileLine {
			i := index(t, l, u1, 1)
			return append(l[:i], l[i+1:]...)
		}, "line 4: position 5: stream unit-75-VA-02 revision 1"},
		{"a line deleted, positions rewritten", func(l []fileLine) []fileLine {
			i := index(t, l, u1, 1)
			return renumberLines(t, append(l[:i], l[i+1:]...))
		}, "line 6: position 6: stream unit-75-VA-01 revision 2"},
		{"two lines of a stream swapped", func(l []fileLine) []fileLine {
			i, j := index(t, l, u2, 1), index(t, l, u2, 2)
			l[i], l[j] = l[j], l[i]
			return l
		}, "line 5: position 8: stream unit-75-VA-02 revision 2"},
		{"two lines of a stream swapped, positions rewritten", func(l []fileLine) []fileLine {
			i, j := index(t, l, u2, 1), index(t, l, u2, 2)
			l[i], l[j] = l[j], l[i]
			return renumberLines(t, l)
		}, "line 5: position 5: stream unit-75-VA-02 revision 2"},
		{"every line of a stream dropped", func(l []fileLine) []fileLine {
			var kept []fileLine
			for _, x := range l {
				if x.Stream != u2 {
					kept = append(kept, x)
				}
			}
			return kept
		}, "line 2: position 3: stream unit-75-VA-03 revision 0"},
		{"every line of a stream dropped, positions rewritten", func(l []fileLine) []fileLine {
			var kept []fileLine
			for _, x := range l {
				if x.Stream != u2 {
					kept = append(kept, x)
				}
			}
			return renumberLines(t, kept)
		}, "line 9: position 9: stream seal revision 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := writeLines(t, tc.tamper(readLines(t, file)))
			code, out, errOut := dispo(t, "", "verify", name)
			if code != 1 || !strings.Contains(errOut, tc.want) || !strings.Contains(out, "BROKEN") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errOut, tc.want)
			}
			if testing.Verbose() {
				t.Log(errOut)
			}
		})
	}
	// The message says what broke.
	name := writeLines(t, func(l []fileLine) []fileLine {
		var kept []fileLine
		for _, x := range l {
			if x.Stream != u2 {
				kept = append(kept, x)
			}
		}
		return renumberLines(t, kept)
	}(readLines(t, file)))
	_, _, errOut := dispo(t, "", "verify", name)
	if !strings.Contains(errOut, "stream unit-75-VA-02 missing (sealed at revision 3)") {
		t.Fatalf("stderr %q", errOut)
	}
}

// A flipped byte in the embedded log's file: the record checksum catches it.
func TestVerifyCorruptLogFile(t *testing.T) {
	file := chainedFile(t)
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, file)
	db := logFile(data)
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("Unité vérifiée 2"))
	if i < 0 {
		t.Fatal("payload not found in the log file")
	}
	b[i] ^= 0x01
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := dispo(t, "", "verify", "--data", data)
	if code != 1 || !strings.Contains(errOut, "position 2") {
		t.Fatalf("exit %d, stderr %q; want 1 naming position 2", code, errOut)
	}
	if testing.Verbose() {
		t.Log(errOut)
	}
}

func TestVerifyFixtureFile(t *testing.T) {
	b, err := os.ReadFile(fixtures + "seed-77.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := dispo(t, "", "verify", fixtures+"seed-77.jsonl")
	if bytes.Contains(b, []byte(`"hash":`)) {
		// The fixtures are chained and sealed: they verify, and so does their log.
		if code != 0 {
			t.Fatalf("verify of the fixture: exit %d\n%s", code, errOut)
		}
		data := t.TempDir()
		mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
		mustDispo(t, "verify", "--data", data)
		return
	}
	if code != 1 || !strings.Contains(errOut, "line 1: position 1: stream unit-77-EG-01 revision 0") ||
		!strings.Contains(errOut, "event not chained") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestVerifyCommandLine(t *testing.T) {
	code, _, errOut := dispo(t, "", "verify", "--help")
	if code != 0 || !strings.Contains(errOut, "What is not") || !strings.Contains(errOut, "different streams") {
		t.Fatalf("--help: exit %d\n%s", code, errOut)
	}
	if code, _, _ := dispo(t, "", "verify", "a", "b"); code != 2 {
		t.Fatalf("two files: exit %d, want 2", code)
	}
	code, _, errOut = dispo(t, "", "verify", "--data", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "no log in") {
		t.Fatalf("no log: exit %d, %q", code, errOut)
	}
}

// The fixtures, imported (the import chains their events), verify; so does
// their export, and an edited export does not, naming the line.
func TestVerifyImportedFixture(t *testing.T) {
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"idf-dialyse.jsonl")
	if out := mustDispo(t, "verify", "--data", data); !strings.HasPrefix(out, "verified ") || !strings.Contains(out, ": intact") {
		t.Fatalf("verify of the imported fixture said %q", out)
	}
	data = t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	export := filepath.Join(t.TempDir(), "seed.jsonl")
	mustDispo(t, "export", "--data", data, "--out", export)
	if !strings.Contains(mustRead(t, export), `"hash":`) {
		t.Skip("waiting for the import to chain events")
	}
	if out := mustDispo(t, "verify", export); !strings.HasPrefix(out, "verified ") || !strings.Contains(out, ": intact") {
		t.Fatalf("verify of the export said %q", out)
	}
	lines := readLines(t, export)
	s2 := domain.UnitStream("77-EG-02")
	decl := index(t, lines, s2, 1) // availability.declared
	cases := []struct {
		name   string
		tamper func([]fileLine) []fileLine
		line   int
		reason string
	}{
		{"a data value changed", func(l []fileLine) []fileLine {
			l[decl].text = strings.Replace(l[decl].text, `"installed":18`, `"installed":19`, 1)
			return l
		}, decl + 1, "event altered"},
		{"a line deleted", func(l []fileLine) []fileLine {
			return append(l[:decl], l[decl+1:]...)
		}, decl + 1, "event missing or out of order"},
		{"two lines of a stream swapped", func(l []fileLine) []fileLine {
			j := index(t, l, s2, 3)
			l[decl], l[j] = l[j], l[decl]
			return l
		}, decl + 1, "event missing or out of order"},
		{"every line of a stream dropped", func(l []fileLine) []fileLine {
			var kept []fileLine
			for _, x := range l {
				if x.Stream != s2 {
					kept = append(kept, x)
				}
			}
			return kept
		}, index(t, lines, s2, 0) + 1, "event missing or out of order"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := writeLines(t, tc.tamper(readLines(t, export)))
			code, _, errOut := dispo(t, "", "verify", name)
			if want := fmt.Sprintf(": line %d: ", tc.line); code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, tc.reason) {
				t.Fatalf("exit %d, stderr %q; want 1, %q and %q", code, errOut, want, tc.reason)
			}
		})
	}
}

// BenchmarkVerify1M: a fresh open and dispo verify's walk of the 1 M-event
// bench log. Goal >= 500,000 events/s.
func BenchmarkVerify1M(b *testing.B) {
	path := benchLog(b)
	var n int
	start := time.Now()
	for b.Loop() {
		l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		v := domain.NewVerifier()
		err = verifyLog(context.Background(), v, l, func(int) {})
		l.Close()
		if err != nil {
			var ve *domain.VerifyError
			if errors.As(err, &ve) && strings.Contains(ve.Reason, domain.ReasonNotChained) {
				b.Skip("the bench log is not chained:", err)
			}
			b.Fatal(err)
		}
		n = v.Result().Events
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkReadAll1M is the floor of BenchmarkVerify1M: the walk alone.
func BenchmarkReadAll1M(b *testing.B) {
	path := benchLog(b)
	var n int
	start := time.Now()
	for b.Loop() {
		l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for _, err := range l.ReadAll(context.Background(), 0) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		l.Close()
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "events/s")
}
