package jsonl_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"dispo/adapters/jsonl"
	"dispo/domain"
)

// readAll reads r to the end, failing on any error.
func readAll(t *testing.T, r *jsonl.Reader) []domain.Envelope {
	t.Helper()
	var out []domain.Envelope
	for {
		env, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, env)
	}
}

func TestWriterReaderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := jsonl.NewWriter(&buf)
	want := samples()
	for i := range want {
		if err := w.Write(&want[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != len(want) || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		t.Fatalf("wrote %d lines for %d envelopes", n, len(want))
	}
	r := jsonl.NewReader(&buf)
	got := readAll(t, r)
	if len(got) != len(want) {
		t.Fatalf("read %d envelopes, want %d", len(got), len(want))
	}
	for i := range got {
		if !sameEnvelope(got[i], want[i]) {
			t.Errorf("envelope %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if r.Line() != len(want) {
		t.Errorf("Line() = %d, want %d", r.Line(), len(want))
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
}

func TestWriterRefusesInvalid(t *testing.T) {
	var buf bytes.Buffer
	w := jsonl.NewWriter(&buf)
	env := samples()[0]
	env.ID = domain.EventID{}
	if err := w.Write(&env); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("Write = %v, want an invalid error", err)
	}
	w.Flush()
	if buf.Len() != 0 {
		t.Fatalf("wrote %q for a refused envelope", buf.String())
	}
}

// lines returns the samples as lines of the format.
func lines(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, env := range samples() {
		line, err := jsonl.Marshal(&env)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(line))
	}
	return out
}

func TestReaderToleratesLineEnds(t *testing.T) {
	l := lines(t)
	input := "\xef\xbb\xbf" + l[0] + "\r\n" + "\r\n" + "   \n" + l[1] + "\n\n" + l[2] // BOM, CRLF, blank lines, no final newline
	r := jsonl.NewReader(strings.NewReader(input))
	var got []int
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Line())
	}
	if want := []int{1, 4, 6}; !slices.Equal(got, want) {
		t.Fatalf("envelopes read on lines %v, want %v", got, want)
	}
}

func TestReaderReportsBadLine(t *testing.T) {
	l := lines(t)
	bad := strings.Replace(l[2], `"available":1`, `"available":99`, 1)
	input := strings.Join([]string{l[0], l[1], bad, l[3], l[4]}, "\n") + "\n"
	r := jsonl.NewReader(strings.NewReader(input))
	for i := 1; i <= 2; i++ {
		if _, err := r.Next(); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	_, err := r.Next()
	var le *jsonl.LineError
	if !errors.As(err, &le) {
		t.Fatalf("Next = %v, want a *LineError", err)
	}
	if le.Line != 3 || r.Line() != 3 {
		t.Errorf("LineError.Line = %d, Line() = %d; want 3", le.Line, r.Line())
	}
	if !strings.HasPrefix(err.Error(), "line 3: ") || !strings.Contains(err.Error(), "les places disponibles (99) dépassent") {
		t.Errorf("error = %q, want line 3 and the reason", err)
	}
	if domain.ErrorCode(err) != domain.EInvalid {
		t.Errorf("error code = %q, want %q", domain.ErrorCode(err), domain.EInvalid)
	}
	// Reading goes on after a bad line.
	if got := readAll(t, r); len(got) != 2 || r.Line() != 5 {
		t.Errorf("after the bad line: read %d envelopes up to line %d, want 2 up to line 5", len(got), r.Line())
	}
}

func TestReaderLineTooLong(t *testing.T) {
	l := lines(t)
	long := `{"pad":"` + strings.Repeat("x", jsonl.MaxLineSize) + `"}`
	r := jsonl.NewReader(strings.NewReader(l[0] + "\n" + long + "\n" + l[1] + "\n"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the error sticks
		_, err := r.Next()
		var le *jsonl.LineError
		if !errors.As(err, &le) || le.Line != 2 || !strings.Contains(err.Error(), "line longer than 1048576 bytes") {
			t.Fatalf("Next = %v, want line 2 too long", err)
		}
	}
}

func TestReaderAcceptsLongestLine(t *testing.T) {
	env := samples()[3]
	env.Event = domain.CommentSet{Text: "x"}
	line, err := jsonl.Marshal(&env)
	if err != nil {
		t.Fatal(err)
	}
	// Pad with blanks, which JSON allows, up to exactly MaxLineSize.
	padded := append(bytes.Repeat([]byte(" "), jsonl.MaxLineSize-len(line)), line...)
	for _, end := range []string{"", "\n", "\r\n"} {
		r := jsonl.NewReader(bytes.NewReader(append(padded[:len(padded):len(padded)], end...)))
		if got := readAll(t, r); len(got) != 1 {
			t.Fatalf("line end %q: read %d envelopes, want 1", end, len(got))
		}
	}
	over := append([]byte(" "), padded...)
	if _, err := jsonl.NewReader(bytes.NewReader(over)).Next(); err == nil || !strings.Contains(err.Error(), "line longer") {
		t.Fatalf("line of %d bytes: Next = %v, want too long", len(over), err)
	}
}

func TestReaderIOError(t *testing.T) {
	l := lines(t)
	boom := errors.New("disk on fire")
	r := jsonl.NewReader(io.MultiReader(strings.NewReader(l[0]+"\n"), iotest.ErrReader(boom)))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("Next = %v, want the reader's error", err)
	}
}

func TestReadFile(t *testing.T) {
	path := filepath.Join("..", "..", "eventlog-fixtures", "seed-77.jsonl")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := jsonl.ReadFile(path)
	if lines := bytes.Count(raw, []byte("\n")); err != nil || len(evs) != lines || evs[0].Type() != domain.TypeUnitRegistered {
		t.Fatalf("ReadFile(seed-77): %d events of %d lines, %v", len(evs), lines, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var le *jsonl.LineError
	if _, err := jsonl.ReadFile(bad); !errors.As(err, &le) || le.Line != 1 {
		t.Fatalf("ReadFile of a bad line: %v, want a *LineError on line 1", err)
	}
	if _, err := jsonl.ReadFile(filepath.Join(t.TempDir(), "none.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile of no file: %v", err)
	}
}
