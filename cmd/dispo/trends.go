package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"dispo/adapters/httpapi"
	"dispo/domain"
	"dispo/projections"
)

func runTrends(ctx context.Context, env *Env, args []string) error {
	fs := env.flags("trends", "[--data DIR] [--from WEEK] [--to WEEK] [--department CODE] [--type CODE] [--format csv|json] [--at RFC3339]",
		"Replays the log (read-only) through the trends projection and writes the agency's weekly\n"+
			"capacity trends to standard output: per ISO week (Monday 00:00 to Monday 00:00, Paris time),\n"+
			"for the region, each department, each unit type and each department and type, the\n"+
			"time-weighted mean of available and installed places, the least, greatest and last\n"+
			"available, the declarations, the units that declared among those expected (registered and\n"+
			"open at some moment of the week) and the units that did not, and the days of closure.\n"+
			"The week holding --at is open: its figures run to --at, and the replay stops at the first\n"+
			"event recorded after it.\n\n"+
			"A WEEK is a date (2025-10-06: the week holding that day) or an ISO week (2025-W41).\n"+
			"CSV is for spreadsheets (French Excel): UTF-8 with a byte order mark, semicolons, decimal\n"+
			"commas, CRLF line ends. JSON is the API's answer (GET /api/v1/trends/weekly).")
	data := env.dataFlag(fs)
	from := fs.String("from", "", "first week (default: 12 weeks before --to)")
	to := fs.String("to", "", "last week (default: the week holding --at)")
	dept := fs.String("department", "", "only the units of this department (75, 2A, 971...)")
	typ := fs.String("type", "", "only the units of this type (centre_lourd, udm, autodialyse, entrainement, domicile...)")
	format := fs.String("format", "csv", "csv or json")
	at := fs.String("at", "", "the instant the open week runs to, RFC 3339 (default: now)")
	if err := env.parseArgs(fs, args, 0); err != nil {
		return err
	}
	if *format != "csv" && *format != "json" {
		return fmt.Errorf("--format: %q is neither csv nor json", *format)
	}
	until, err := parseAt(*at)
	if err != nil {
		return err
	}
	now := env.Now()
	if !until.IsZero() {
		now = until
	}
	q := projections.TrendQuery{From: *from, To: *to, Department: *dept, Type: *typ, Now: now}
	// Check the query before reading the log.
	if _, err := projections.NewTrends().Weekly(q); err != nil {
		return trendsError(err)
	}

	l, err := openLog(*data, true)
	if err != nil {
		return err
	}
	defer l.Close()
	start := time.Now()
	p := &progress{w: env.Stderr, what: "replayed", now: env.Now, last: env.Now()}
	tr := projections.NewTrends()
	n := 0
	for ev, err := range l.ReadAll(ctx, 0) {
		if err != nil {
			return err
		}
		if !until.IsZero() && ev.RecordedAt.After(until) {
			break
		}
		tr.Apply(&ev)
		if n++; n%65536 == 0 {
			p.tick(n)
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(env.Stderr, "replayed %d events in %s (%.0f events/s)\n", n, elapsed.Round(time.Microsecond), float64(n)/elapsed.Seconds())

	rep, err := tr.Weekly(q)
	if err != nil {
		return trendsError(err)
	}
	if *format == "csv" {
		return httpapi.WriteTrendsCSV(env.Stdout, rep)
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// trendsError words a refused query for the command line.
func trendsError(err error) error {
	if domain.ErrorCode(err) == domain.EInvalid {
		return errors.New(domain.ErrorMessage(err))
	}
	return err
}
