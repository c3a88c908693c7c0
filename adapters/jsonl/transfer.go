package jsonl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"dispo/domain"
)

// BatchAppender is what Import needs of a log: atomic multi-stream appends
// and the head position.
type BatchAppender interface {
	AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, error)
	Head(ctx context.Context) (uint64, error)
}

// ImportResult says what an import did.
type ImportResult struct {
	Events   int // envelopes in the file
	Appended int // events the log did not have
	Streams  int
}

// importChunk bounds the events of one transaction: big enough that an
// import is a handful of syncs, small enough to keep memory flat.
const importChunk = 20_000

// maxReported bounds the bad lines one error lists.
const maxReported = 20

// Import reads every envelope of r, checks them all, then appends them in
// file order, each event at the revision its order in the file gives it
// within its stream. The events are chained (see domain.ChainHash): if the
// file's first event carries a hash, the file is chained and every event
// must carry the hash of its stream's chain in the file (prev_hash that of
// the stream's previous event in the file, zero for its first; hash over the
// event at its revision in the file); if it carries none, no event may, and
// Import computes them, so that an imported log is chained whatever the
// file. Nothing is appended if any line is bad: the error lists
// the bad lines (a *LineError each, joined). Importing the same file again
// appends nothing (events are idempotent by id), so a failed import can be
// rerun. progress, if not nil, is called now and then with the count of
// lines read, then of events appended.
func Import(ctx context.Context, dst BatchAppender, r io.Reader, progress func(stage string, n int)) (ImportResult, error) {
	if progress == nil {
		progress = func(string, int) {}
	}
	var (
		evs     []domain.Envelope
		bad     []error
		seen    = map[domain.EventID]int{}
		states  = map[string]*streamCheck{}
		rd      = NewReader(r)
		chained *bool // whether the file carries hashes, known at its first event
	)
	for {
		env, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err == nil {
			if chained == nil {
				c := !env.Hash.IsZero() || !env.PrevHash.IsZero()
				chained = &c
			}
			err = checkImported(&env, seen, states, rd.Line(), *chained)
		}
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				err = &LineError{Line: rd.Line(), Err: err}
			}
			if bad = append(bad, err); len(bad) == maxReported {
				bad = append(bad, fmt.Errorf("(further errors not shown)"))
				break
			}
			if errors.As(err, &le) && rd.err != nil {
				break // the reader cannot go on
			}
			continue
		}
		evs = append(evs, env)
		if len(evs)%100_000 == 0 {
			progress("read", len(evs))
		}
	}
	if len(bad) > 0 {
		return ImportResult{}, fmt.Errorf("jsonl: nothing imported: %w", errors.Join(bad...))
	}
	before, err := dst.Head(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	revs := map[string]int64{}
	for start := 0; start < len(evs); start += importChunk {
		chunk := evs[start:min(start+importChunk, len(evs))]
		var reqs []domain.AppendRequest
		for i := range chunk {
			s := chunk[i].Stream
			if n := len(reqs); n > 0 && reqs[n-1].Stream == s {
				reqs[n-1].Events = chunk[i-len(reqs[n-1].Events) : i+1]
			} else {
				reqs = append(reqs, domain.AppendRequest{Stream: s, Expected: domain.Exact(revs[s] - 1), Events: chunk[i : i+1]})
			}
			revs[s]++
		}
		if _, err := dst.AppendBatch(ctx, reqs); err != nil {
			done, _ := dst.Head(ctx)
			return ImportResult{Events: len(evs), Appended: int(done - before), Streams: len(states)},
				fmt.Errorf("jsonl: import stopped at event %d of the file: %w (the events before it are stored; importing the file again is safe)",
					start+1, err)
		}
		progress("appended", start+len(chunk))
	}
	after, err := dst.Head(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Events: len(evs), Appended: int(after - before), Streams: len(states)}, nil
}

// streamCheck folds a unit stream of the file so that events a unit could
// never have recorded are refused before anything is appended.
type streamCheck struct {
	state domain.UnitState
}

func checkImported(env *domain.Envelope, seen map[domain.EventID]int, states map[string]*streamCheck, line int, chained bool) error {
	if prev, dup := seen[env.ID]; dup {
		return fmt.Errorf("event id already used on line %d", prev)
	}
	seen[env.ID] = line
	st, ok := states[env.Stream]
	if !ok {
		st = &streamCheck{}
		states[env.Stream] = st
	}
	if _, isUnit := domain.UnitIDFromStream(env.Stream); isUnit {
		if err := domain.Admit(&st.state, env); err != nil {
			return err
		}
	}
	// A broken link is reported, and the event folded as the file has it:
	// the events after it are judged against the file, so that the error
	// names where the chain breaks, not every event after it.
	err := chainImported(env, st, chained)
	st.state.Apply(env)
	return err
}

// chainImported checks (chained file) or sets (file without hashes) the
// hashes of env, the next event of the stream st folds. The hash is over
// the revision the log will give env: its order in its stream in the file.
func chainImported(env *domain.Envelope, st *streamCheck, chained bool) error {
	has := !env.Hash.IsZero() || !env.PrevHash.IsZero()
	prev := st.state.LastHash()
	rev := uint64(st.state.Revision() + 1)
	if !chained {
		if has {
			return fmt.Errorf("hash: the file's first event has none, this one has: a file is chained throughout or not at all")
		}
		e := *env
		e.Revision = rev
		h, err := domain.ChainHash(&e, prev)
		if err != nil {
			return err
		}
		env.PrevHash, env.Hash = prev, h
		return nil
	}
	if env.Hash.IsZero() {
		return fmt.Errorf("hash is missing: the file is chained (its first event has a hash)")
	}
	if env.PrevHash != prev {
		return fmt.Errorf("prev_hash is not the hash of the previous event of %s in the file", env.Stream)
	}
	e := *env
	e.Revision = rev
	h, err := domain.ChainHash(&e, prev)
	if err != nil {
		return err
	}
	if h != env.Hash {
		return fmt.Errorf("hash does not match the event (at revision %d of %s): it was changed, or is not where it was", rev, env.Stream)
	}
	return nil
}

// AllReader is what Export needs of a log.
type AllReader interface {
	ReadAll(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// Export writes every event of src to w, in position order, and returns how
// many it wrote. Importing the output into an empty log gives the same log.
func Export(ctx context.Context, src AllReader, w io.Writer, progress func(n int)) (int, error) {
	jw := NewWriter(w)
	n := 0
	for env, err := range src.ReadAll(ctx, 0) {
		if err != nil {
			return n, err
		}
		if err := jw.Write(&env); err != nil {
			return n, err
		}
		if n++; n%100_000 == 0 && progress != nil {
			progress(n)
		}
	}
	return n, jw.Flush()
}
