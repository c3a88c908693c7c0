package fixturegen_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
	"dispo/domain"
)

// fixtureDir holds the checked-in fixtures, from this package's directory.
var fixtureDir = filepath.Join("..", "..", "eventlog-fixtures")

const regenerate = "the fixtures are generated: from the repository root, run\n\n" +
	"\tgo run ./cmd/dispo-fixtures -out eventlog-fixtures\n\n" +
	"then update the counts in eventlog-fixtures/README.md and commit both"

// The checked-in files are exactly what the generator writes.
func TestFixturesAreUpToDate(t *testing.T) {
	fixtures, err := fixturegen.Fixtures(fixturegen.DefaultIleDeFrance())
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(fixtureDir, "README.md"))
	if err != nil {
		t.Fatalf("%v\n%s", err, regenerate)
	}
	lines := map[string]bool{}
	for _, f := range fixtures {
		want := marshalAll(t, f.Events)
		for _, l := range strings.Split(string(want), "\n") {
			lines[l] = true
		}
		got, err := os.ReadFile(filepath.Join(fixtureDir, f.Name))
		if err != nil {
			t.Errorf("%v\n%s", err, regenerate)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("eventlog-fixtures/%s differs from the generator from line %d on (%d bytes, generator %d)\n%s",
				f.Name, firstDifferentLine(got, want), len(got), len(want), regenerate)
		}
		events := bytes.Count(want, []byte("\n"))
		if mention := fmt.Sprintf("%d events", events); !bytes.Contains(readme, []byte(mention)) {
			t.Errorf("eventlog-fixtures/README.md does not say %q for %s\n%s", mention, f.Name, regenerate)
		}
	}
	for i, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, `{"id":`) && !lines[l] {
			t.Errorf("eventlog-fixtures/README.md line %d: the example is not a line of the fixtures\n%s", i+1, regenerate)
		}
	}
}

func firstDifferentLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// The checked-in seed reads back, through the format's Reader, as Seed77.
func TestSeed77FileReadsBack(t *testing.T) {
	f, err := os.Open(filepath.Join(fixtureDir, "seed-77.jsonl"))
	if err != nil {
		t.Fatalf("%v\n%s", err, regenerate)
	}
	defer f.Close()
	r := jsonl.NewReader(f)
	want := fixturegen.Seed77()
	var got []domain.Envelope
	for {
		env, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, env)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d envelopes, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.RecordedAt.Equal(w.RecordedAt) {
			t.Fatalf("envelope %d: recorded at %v, want %v", i+1, g.RecordedAt, w.RecordedAt)
		}
		g.RecordedAt = w.RecordedAt // equal instants; the representation may differ
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("envelope %d:\ngot  %#v\nwant %#v", i+1, g, w)
		}
	}
}
