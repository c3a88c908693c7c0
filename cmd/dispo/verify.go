package main

import (
	"context"
	"dispo/adapters/boltlog"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"dispo/adapters/jsonl"
	"dispo/domain"
)

const verifyHelp = `Checks the tamper evidence of the log (read-only), or of FILE, a JSONL export (- for standard
input), offline, and names the first broken event; exit status 1 if there is one.

What is checked, event by event in log order:
  - each event's hash, recomputed over its canonical bytes (id, stream, revision, recorded-at,
    schema, actor, source, correlation id, payload): a changed byte is an altered event;
  - the chain of each stream: revisions 0, 1, 2... with no gap, each event's previous hash the
    hash of its stream's previous event: a deleted, inserted or reordered event of a stream is
    reported at the next event of that stream;
  - positions, when present, gapless and increasing;
  - every seal (stream "seal", event log.sealed): each stream it lists must be there, at least at
    the revision sealed, with the hash sealed: a stream removed or a tail cut before a seal is
    reported at the seal;
  - every event is chained: one without a hash is reported.

What is not: the order of events of different streams (swapping two such events, positions
rewritten, keeps both chains intact); events cut after the last seal, or a whole log rewritten
with new hashes and seals. Seals bound what can be cut: the summary says how many events the
last seal does not cover. Keep seals (or their hashes) somewhere else to check a copy against.`

func runVerify(ctx context.Context, env *Env, args []string) error {
	fs := env.flags("verify", "[--data DIR] [--eventstore URL] [FILE.jsonl|-]", verifyHelp)
	data := env.dataFlag(fs)
	store := env.eventstoreFlag(fs)
	if err := env.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	start := time.Now()
	p := &progress{w: env.Stderr, what: "verified", now: env.Now, last: env.Now()}
	v := domain.NewVerifier()
	var err error
	if fs.NArg() == 1 {
		err = verifyFile(v, fs.Arg(0), env.Stdin, p.tick)
	} else {
		var l servedLog
		if l, err = openForVerify(ctx, *data, *store, env.Stderr); err != nil {
			return err
		}
		defer l.Close()
		err = verifyLog(ctx, v, l, p.tick)
	}
	res := v.Result()
	if err != nil {
		var ve *domain.VerifyError
		if errors.As(err, &ve) {
			fmt.Fprintf(env.Stdout, "checked %d events in %d streams, %d seals: BROKEN at the next one\n", res.Events, res.Streams, res.Seals)
			return fmt.Errorf("tamper evidence broken: %w", err)
		}
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(env.Stdout, "verified %d events in %d streams, %d seals: intact\n", res.Events, res.Streams, res.Seals)
	switch {
	case res.Seals == 0 && res.Events > 0:
		fmt.Fprintf(env.Stdout, "no seal: a removed stream or a cut tail would go unseen\n")
	case res.AfterLastSeal > 0:
		fmt.Fprintf(env.Stdout, "%d events after the last seal: a cut among them would go unseen\n", res.AfterLastSeal)
	}
	fmt.Fprintf(env.Stderr, "verified %d events in %s (%.0f events/s)\n", res.Events, elapsed.Round(time.Millisecond),
		float64(res.Events)/max(elapsed.Seconds(), 1e-9))
	return nil
}

// openForVerify opens the log of data, or the EventStoreDB at store,
// read-only. The embedded log's file is checked whole first (pages, bbolt's
// own check, every record's checksum and place), so that what follows
// never reports on a file it cannot trust.
func openForVerify(ctx context.Context, data, store string, stderr io.Writer) (servedLog, error) {
	if store == "" {
		// Read-only: do not create an empty log where there is none.
		path := logFile(data)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no log in %s: %w", data, err)
		}
		start := time.Now()
		res, err := boltlog.Check(path)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "checked the file %s: %d pages, %d events, %d streams in %s\n", path, res.Pages, res.Events, res.Streams,
			time.Since(start).Round(time.Millisecond))
	}
	return openAnyLog(ctx, data, store, true, slog.New(slog.NewTextHandler(stderr, nil)))
}

// verifyLog checks every event of l in log order: one goroutine reads and
// decodes batches, CheckBatch hashes them on the others.
func verifyLog(ctx context.Context, v *domain.Verifier, l jsonl.AllReader, tick func(int)) error {
	const batchSize = 4096
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan []domain.Envelope, 2)
	free := make(chan []domain.Envelope, 3)
	for range 3 {
		free <- make([]domain.Envelope, 0, batchSize)
	}
	var readErr error
	go func() {
		defer close(full)
		n := 0
		batch := <-free
		for ev, err := range l.ReadAll(ctx, 0) {
			if err != nil {
				readErr = fmt.Errorf("reading the log after %d events: %w", n, err)
				break
			}
			n++
			if batch = append(batch, ev); len(batch) == batchSize {
				select {
				case full <- batch:
				case <-ctx.Done():
					return
				}
				select {
				case batch = <-free:
					batch = batch[:0]
				case <-ctx.Done():
					return
				}
			}
		}
		if len(batch) > 0 {
			select {
			case full <- batch:
			case <-ctx.Done():
			}
		}
	}()
	n := 0
	for batch := range full {
		k, err := v.CheckBatch(batch)
		if err != nil {
			cancel()
			for range full {
			}
			return err
		}
		if n += k; n/65536 != (n-k)/65536 {
			tick(n)
		}
		free <- batch
	}
	// readErr is written before full is closed.
	if readErr != nil {
		return readErr
	}
	return ctx.Err()
}

// verifyFile checks a JSONL export, naming lines.
func verifyFile(v *domain.Verifier, name string, stdin io.Reader, tick func(int)) error {
	in := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	r := jsonl.NewReader(in)
	n := 0
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := v.Check(&ev); err != nil {
			var ve *domain.VerifyError
			if errors.As(err, &ve) {
				ve.Line = r.Line()
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		if n++; n%65536 == 0 {
			tick(n)
		}
	}
}
