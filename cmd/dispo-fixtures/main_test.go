package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesBothFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	m := NewMain()
	if err := m.ParseFlags([]string{"-out", dir, "-units", "20", "-weeks", "8", "-seed", "7"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := m.Run(context.Background(), &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "seed-77.jsonl: 14 events") {
		t.Errorf("stdout = %q", stdout.String())
	}
	got, err := os.ReadFile(filepath.Join(dir, "seed-77.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "eventlog-fixtures", "seed-77.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("seed-77.jsonl differs from the checked-in one")
	}
	idf, err := os.ReadFile(filepath.Join(dir, "idf-dialyse.jsonl"))
	if err != nil || bytes.Count(idf, []byte(`"type":"unit.registered"`)) != 20 {
		t.Errorf("idf-dialyse.jsonl: %v, %d registrations, want 20", err, bytes.Count(idf, []byte(`"type":"unit.registered"`)))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files in the output directory, want 2 (no temporary file left)", len(entries))
	}
}

func TestRunEvents(t *testing.T) {
	dir := t.TempDir()
	m := NewMain()
	if err := m.ParseFlags([]string{"-out", dir, "-units", "30", "-events", "2500"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	idf, err := os.ReadFile(filepath.Join(dir, "idf-dialyse.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(idf, []byte("\n")); n != 2500 {
		t.Fatalf("%d lines, want 2500", n)
	}
}

func TestParseFlags(t *testing.T) {
	var usage bytes.Buffer
	if err := NewMain().ParseFlags([]string{"--help"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	if !strings.Contains(usage.String(), "go run ./cmd/dispo-fixtures -out eventlog-fixtures") {
		t.Errorf("usage does not give the regeneration command:\n%s", usage.String())
	}
	for _, args := range [][]string{{"-units", "0"}, {"-weeks", "x"}, {"extra"}, {"-events", "-1"}} {
		if err := NewMain().ParseFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
