// Command dispo-fixtures writes the event logs of eventlog-fixtures/: the
// department-77 seed and the Île-de-France log, in the JSONL format of
// adapters/jsonl. Run from the repository root, without flags, it
// regenerates the checked-in files:
//
//	go run ./cmd/dispo-fixtures -out eventlog-fixtures
//
// Its flags change the Île-de-France log, for larger logs elsewhere.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m := NewMain()
	err := m.ParseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = m.Run(ctx, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dispo-fixtures:", err)
		os.Exit(1)
	}
}

// Main is the program: its configuration, parsed from flags, and Run.
type Main struct {
	Out    string
	Config fixturegen.Config
}

// NewMain returns a Main that writes the checked-in fixtures.
func NewMain() *Main {
	return &Main{Out: "eventlog-fixtures", Config: fixturegen.DefaultIleDeFrance()}
}

// ParseFlags reads the command line; usage and errors go to stderr.
func (m *Main) ParseFlags(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("dispo-fixtures", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.Out, "out", m.Out, "directory to write the files to (created if need be)")
	fs.Uint64Var(&m.Config.Seed, "seed", m.Config.Seed, "seed of the Île-de-France log")
	fs.IntVar(&m.Config.Units, "units", m.Config.Units, "dialysis units of the Île-de-France log")
	fs.IntVar(&m.Config.Weeks, "weeks", m.Config.Weeks, "weeks of the Île-de-France log's window")
	fs.IntVar(&m.Config.Events, "events", m.Config.Events, "if > 0, make the Île-de-France log exactly N events long, going past the window as needed")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: dispo-fixtures [flags]

Writes two event logs in the JSONL format (adapters/jsonl/doc.go) to the -out
directory, replacing files of the same name:

  seed-77.jsonl      the department-77 table of the ROR guide (fixed)
  idf-dialyse.jsonl  a generated Île-de-France region, shaped by the flags

The files are deterministic: the same flags give the same bytes. Without
flags, run from the repository root, it regenerates the checked-in fixtures,
which adapters/fixturegen's tests compare byte for byte:

  go run ./cmd/dispo-fixtures -out eventlog-fixtures

For a large log, write elsewhere, e.g. a million events over 2000 units:

  go run ./cmd/dispo-fixtures -out /tmp/big -units 2000 -events 1000000

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return m.Config.Validate()
}

// Run writes the fixture files, each to a temporary file renamed into place
// once complete, so that an interrupted run leaves the previous files.
func (m *Main) Run(ctx context.Context, stdout io.Writer) error {
	fixtures, err := fixturegen.Fixtures(m.Config)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.Out, 0o755); err != nil {
		return err
	}
	for _, f := range fixtures {
		path := filepath.Join(m.Out, f.Name)
		n, err := writeFile(ctx, path, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d events\n", path, n)
	}
	return nil
}

func writeFile(ctx context.Context, path string, f fixturegen.Fixture) (n int, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+f.Name+".*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := jsonl.NewWriter(tmp)
	for env := range f.Events {
		if n%10000 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		if err := w.Write(&env); err != nil {
			return n, fmt.Errorf("%s: event %d: %w", f.Name, n+1, err)
		}
		n++
	}
	if err := w.Flush(); err != nil {
		return n, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return n, err
	}
	if err := tmp.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(tmp.Name(), path)
}
