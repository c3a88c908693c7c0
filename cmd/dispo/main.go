// Command dispo is the ledger of dialysis place availability: it imports and
// exports event logs, replays them through the projections, and (soon)
// serves them over HTTP. This package parses flags and wires packages; the
// work is done in domain, projections and adapters.
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
	"syscall"
	"time"

	"dispo/adapters/boltlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Env is what a command runs with; tests build their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Now            func() time.Time
	Getenv         func(string) string
}

type command struct {
	name, summary string
	run           func(ctx context.Context, env *Env, args []string) error
}

var commands = []command{
	{"import", "append the events of a JSONL file to the log (idempotent)", runImport},
	{"export", "write the whole log as JSONL", runExport},
	{"replay", "rebuild every projection from the log and print the matrix", runReplay},
	{"serve", "serve the JSON API, health and metrics over HTTP", runServe},
	{"history", "print every event of a unit, with the unit after each (auditors)", runHistory},
	{"trends", "write the weekly capacity trends as CSV or JSON (the agency)", runTrends},
	{"verify", "check the hash chains and seals of a log or an export file", runVerify},
	{"users", "manage logins and habilitations (add, passwd, grant, revoke, list, token, logout, unlock)", runUsers},
}

const usage = `dispo: the ledger of dialysis place availability (ROR-IF "disponibilités en places").

Usage:
  dispo <command> [flags] [arguments]

Commands:
%s
Run "dispo <command> --help" for a command's flags.
`

// errUsage marks a mistake on the command line: exit status 2.
var errUsage = errors.New("usage")

// Run runs the command line args and returns the process exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Now: time.Now, Getenv: os.Getenv}
	return env.run(ctx, args)
}

func (env *Env) run(ctx context.Context, args []string) int {
	list := ""
	for _, c := range commands {
		list += fmt.Sprintf("  %-8s %s\n", c.name, c.summary)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(env.Stdout, usage, list)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(env.Stderr, "dispo %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(env.Stderr, "dispo: unknown command %q\n\n"+usage, args[0], list)
	return 2
}

// flags returns a flag set that prints its usage to stderr and reports
// parse errors as usage errors.
func (env *Env) flags(name, synopsis, help string) *flag.FlagSet {
	fs := flag.NewFlagSet("dispo "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: dispo %s %s\n\n%s\n\nFlags:\n", name, synopsis, help)
		fs.PrintDefaults()
	}
	return fs
}

func (env *Env) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// parseArgs parses args and requires exactly n arguments after the flags.
func (env *Env) parseArgs(fs *flag.FlagSet, args []string, n int) error {
	if err := env.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != n {
		fs.Usage()
		return errUsage
	}
	return nil
}

// dataFlag declares --data, defaulting to $DISPO_DATA or ./data.
func (env *Env) dataFlag(fs *flag.FlagSet) *string {
	def := env.Getenv("DISPO_DATA")
	if def == "" {
		def = "data"
	}
	return fs.String("data", def, "directory of the embedded event log (env DISPO_DATA)")
}

// eventstoreFlag declares --eventstore, defaulting to $DISPO_EVENTSTORE.
func (env *Env) eventstoreFlag(fs *flag.FlagSet) *string {
	return fs.String("eventstore", env.Getenv("DISPO_EVENTSTORE"),
		"EventStoreDB/KurrentDB connection string instead of the embedded log (env DISPO_EVENTSTORE)")
}

// parseAt reads an --at flag: an RFC 3339 instant, zero when empty.
func parseAt(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at: %q is not an RFC 3339 instant (e.g. 2025-03-06T15:30:00+01:00)", v)
	}
	return t, nil
}

// logFile is the event log's file in the data directory.
func logFile(dir string) string { return filepath.Join(dir, "events.db") }

// openLog opens the embedded log of dir; readOnly does not create it.
func openLog(dir string, readOnly bool) (*boltlog.Log, error) {
	if !readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	return boltlog.Open(logFile(dir), boltlog.Options{ReadOnly: readOnly})
}

// progress prints a line on stderr at most once a second.
type progress struct {
	w    io.Writer
	what string
	last time.Time
	now  func() time.Time
}

func (p *progress) tick(n int) {
	if t := p.now(); t.Sub(p.last) >= time.Second {
		p.last = t
		fmt.Fprintf(p.w, "%s: %d...\n", p.what, n)
	}
}
