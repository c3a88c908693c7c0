package jsonl_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/jsonl"
	"dispo/domain"
)

// chainFile returns the samples' unit events (a unit stream) and a seal as
// a file, unchained, and the same events chained as a log would chain them.
func chainFile(t *testing.T) (plain, chained []domain.Envelope) {
	t.Helper()
	s := samples()
	for i := range s {
		s[i].Hash, s[i].PrevHash = domain.Hash{}, domain.Hash{}
	}
	s[len(s)-1].Revision = 0 // the seal is the first of its stream here
	plain = s
	chained = append([]domain.Envelope(nil), s...)
	if err := domain.Chain(chained[:len(s)-1], domain.Hash{}); err != nil {
		t.Fatal(err)
	}
	if err := domain.Chain(chained[len(s)-1:], domain.Hash{}); err != nil {
		t.Fatal(err)
	}
	return plain, chained
}

func fileOf(t *testing.T, evs []domain.Envelope) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := jsonl.NewWriter(&buf)
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importInto(t *testing.T, data []byte) ([]domain.Envelope, error) {
	t.Helper()
	l, err := boltlog.Open(filepath.Join(t.TempDir(), "log.db"), boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := jsonl.Import(context.Background(), l, bytes.NewReader(data), nil); err != nil {
		return nil, err
	}
	var got []domain.Envelope
	for env, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, env)
	}
	return got, nil
}

// A file without hashes is chained on import; a chained file keeps its hashes.
func TestImportChains(t *testing.T) {
	plain, chained := chainFile(t)
	for name, data := range map[string][]byte{"without hashes": fileOf(t, plain), "chained": fileOf(t, chained)} {
		t.Run(name, func(t *testing.T) {
			got, err := importInto(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(chained) {
				t.Fatalf("imported %d events, want %d", len(got), len(chained))
			}
			for i := range got {
				if got[i].Hash != chained[i].Hash || got[i].PrevHash != chained[i].PrevHash {
					t.Fatalf("event %d (%s): hashes %s/%s, want %s/%s", i, got[i].Type(),
						got[i].Hash, got[i].PrevHash, chained[i].Hash, chained[i].PrevHash)
				}
				if h, err := domain.ChainHash(&got[i], got[i].PrevHash); err != nil || h != got[i].Hash {
					t.Fatalf("event %d does not hash to its hash as stored (%v)", i, err)
				}
			}
		})
	}
}

// A chained file whose chain is broken is refused, naming first the line
// where it breaks.
func TestImportRefusesBrokenChain(t *testing.T) {
	_, chained := chainFile(t)
	cases := map[string]struct {
		mutate func([]domain.Envelope)
		want   string
	}{
		"changed payload": {func(e []domain.Envelope) { e[3].Event = domain.CommentSet{Text: "autre"} }, "line 4: hash does not match"},
		"removed event": {func(e []domain.Envelope) {
			copy(e[2:], e[3:])
			e[len(e)-1] = e[len(e)-2] // keep the length; the duplicate is on the last line
		}, "line 3: prev_hash is not the hash of the previous event"},
		"hash stripped": {func(e []domain.Envelope) { e[8].Hash, e[8].PrevHash = domain.Hash{}, domain.Hash{} }, "line 9: hash is missing"},
		"hash added to an unchained file": {func(e []domain.Envelope) {
			for i := range e[:len(e)-1] {
				e[i].Hash, e[i].PrevHash = domain.Hash{}, domain.Hash{}
			}
		}, fmt.Sprintf("line %d: hash: the file's first event has none", len(samples()))},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			evs := append([]domain.Envelope(nil), chained...)
			tc.mutate(evs)
			_, err := importInto(t, fileOf(t, evs))
			if err == nil || !strings.HasPrefix(err.Error(), "jsonl: nothing imported: "+tc.want) {
				t.Fatalf("Import: %v, want nothing imported and %q", err, tc.want)
			}
		})
	}
}
