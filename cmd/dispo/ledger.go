package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"dispo/adapters/fhir"
	"dispo/adapters/jsonl"
	"dispo/projections"
)

func runImport(ctx context.Context, env *Env, args []string) error {
	fs := env.flags("import", "[--data DIR] FILE",
		"Appends the events of FILE (JSONL, one envelope per line; - for standard input) to the log.\n"+
			"Every line is checked first: if any is bad, the bad lines are listed and nothing is appended.\n"+
			"Importing the same file twice appends nothing the second time.")
	data := env.dataFlag(fs)
	store := env.eventstoreFlag(fs)
	if err := env.parseArgs(fs, args, 1); err != nil {
		return err
	}
	var in io.Reader = env.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	l, err := openAnyLog(ctx, *data, *store, false, slog.New(slog.NewTextHandler(env.Stderr, nil)))
	if err != nil {
		return err
	}
	defer l.Close()
	start := env.Now()
	p := &progress{w: env.Stderr, now: env.Now, last: start}
	res, err := jsonl.Import(ctx, l, in, func(stage string, n int) { p.what = stage; p.tick(n) })
	if err != nil {
		return err
	}
	head, _ := l.Head(ctx)
	fmt.Fprintf(env.Stdout, "imported %s: %d events in %d streams, %d appended, %d already present; log head at position %d (%s)\n",
		fs.Arg(0), res.Events, res.Streams, res.Appended, res.Events-res.Appended, head, env.Now().Sub(start).Round(time.Millisecond))
	return nil
}

func runExport(ctx context.Context, env *Env, args []string) error {
	fs := env.flags("export", "[--data DIR] [--out FILE] [--format jsonl|fhir] [--at RFC3339]",
		"Writes every event of the log, in position order, as JSONL. Importing the output into an\n"+
			"empty log gives the same log: same ids, streams, revisions and positions.\n\n"+
			"With --format fhir it writes instead every Location and HealthcareService of the FHIR\n"+
			"interface (/fhir), one resource a line (NDJSON, as FHIR Bulk Data does): the units and\n"+
			"their places as they stand now, or as they stood at --at.")
	data := env.dataFlag(fs)
	out := fs.String("out", "-", "file to write (- for standard output); written whole or not at all")
	format := fs.String("format", "jsonl", "jsonl: the events; fhir: the FHIR resources, as NDJSON")
	at := fs.String("at", "", "with --format fhir: the resources as they stood at this instant, RFC 3339 (default: now)")
	store := env.eventstoreFlag(fs)
	if err := env.parseArgs(fs, args, 0); err != nil {
		return err
	}
	until, err := parseAt(*at)
	if err != nil {
		return err
	}
	if *format != "jsonl" && *format != "fhir" {
		return fmt.Errorf("--format: %q is neither jsonl nor fhir", *format)
	}
	if *format == "jsonl" && !until.IsZero() {
		return fmt.Errorf("--at is for --format fhir: the JSONL export is the whole log")
	}
	l, err := openForVerify(ctx, *data, *store, env.Stderr)
	if err != nil {
		return err
	}
	defer l.Close()
	p := &progress{w: env.Stderr, what: "exported", now: env.Now, last: env.Now()}
	write := func(w io.Writer) (int, error) { return jsonl.Export(ctx, l, w, p.tick) }
	what := "events"
	if *format == "fhir" {
		what = "FHIR resources"
		p.what = "read"
		write = func(w io.Writer) (int, error) {
			a := projections.NewAvailability()
			if _, err := replay(ctx, l, a, until, p.tick); err != nil {
				return 0, err
			}
			return fhir.Export(w, a)
		}
	}
	if *out == "-" {
		_, err := write(env.Stdout)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".dispo-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported %d %s to %s\n", n, what, *out)
	return nil
}

func runReplay(ctx context.Context, env *Env, args []string) error {
	fs := env.flags("replay", "[--data DIR] [--row CODE] [--department CODE] [--at RFC3339]",
		"Rebuilds every projection from position 0 and prints the consultation matrix, then the\n"+
			"detail by department of one row (default: Dialyse) and the freshness of the units\n"+
			"(against --at, default now). The replay rate goes to standard error.")
	data := env.dataFlag(fs)
	row := fs.String("row", "dialyse", "matrix row to detail: a category (dialyse, ssr...) or a unit type (udm, centre_lourd...)")
	dept := fs.String("department", "", "department to detail (default: every department with units)")
	at := fs.String("at", "", "show the ledger as it stood at this instant, RFC 3339: only events recorded by then, freshness against it (default: now, every event)")
	if err := env.parseArgs(fs, args, 0); err != nil {
		return err
	}
	until, err := parseAt(*at)
	if err != nil {
		return err
	}
	now := env.Now()
	if !until.IsZero() {
		now = until
	}
	l, err := openLog(*data, true)
	if err != nil {
		return err
	}
	defer l.Close()

	start := time.Now()
	p := &progress{w: env.Stderr, what: "replayed", now: env.Now, last: env.Now()}
	a := projections.NewAvailability()
	n, err := replay(ctx, l, a, until, p.tick)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(env.Stderr, "replayed %d events in %s (%.0f events/s)\n", n, elapsed.Round(time.Microsecond), float64(n)/elapsed.Seconds())

	m := a.Matrix()
	if err := writeMatrix(env.Stdout, m); err != nil {
		return err
	}
	depts := m.Departments
	if *dept != "" {
		depts = []string{*dept}
	}
	for _, d := range depts {
		rows, err := a.Detail(*row, d)
		if err != nil {
			return err
		}
		if len(rows) == 0 && *dept == "" {
			continue
		}
		fmt.Fprintln(env.Stdout)
		if err := writeDetail(env.Stdout, d, rows); err != nil {
			return err
		}
	}
	f := a.Freshness(now)
	fmt.Fprintf(env.Stdout, "\nFraîcheur au %s:", projections.FormatParis(now))
	for b := projections.Band(0); b < projections.NumBands; b++ {
		fmt.Fprintf(env.Stdout, "  %s: %d", b, f.Total[b])
	}
	fmt.Fprintf(env.Stdout, "\nUO en retard (dernière déclaration de plus de 7 × 24 h): %d\n", len(f.Overdue))
	return nil
}

// replay folds the events of l into a, calling tick now and then; with
// until set, it stops at the first event recorded after that instant.
func replay(ctx context.Context, l projections.AllReader, a *projections.Availability, until time.Time, tick func(int)) (int, error) {
	n := 0
	for ev, err := range l.ReadAll(ctx, 0) {
		if err != nil {
			return n, err
		}
		if !until.IsZero() && ev.RecordedAt.After(until) {
			break
		}
		a.Apply(&ev)
		if n++; n%65536 == 0 {
			tick(n)
		}
	}
	return n, nil
}
