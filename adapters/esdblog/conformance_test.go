package esdblog_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"dispo/adapters/esdblog"
	"dispo/adapters/eventlogtest"
	"dispo/adapters/jsonl"
	"dispo/cmd/dispo/app"
	"dispo/domain"
)

// The ports the Log fills, as their users declare them.
var (
	_ eventlogtest.Log    = (*esdblog.Log)(nil)
	_ app.Log             = (*esdblog.Log)(nil)
	_ domain.UnitLog      = (*esdblog.Log)(nil)
	_ jsonl.BatchAppender = (*esdblog.Log)(nil)
	_ jsonl.AllReader     = (*esdblog.Log)(nil)
)

// The conformance suite against the stand-in: a fresh stand-in per test.
func TestConformanceStandin(t *testing.T) {
	eventlogtest.Run(t, func(t *testing.T) eventlogtest.Log {
		return mustOpen(t, startStandin(t).URL(), testOptions(t))
	})
}

// The conformance suite against a real EventStoreDB / KurrentDB named by
// DISPO_ESDB_URL ("esdb://localhost:2113?tls=false"): each test gets a
// prefix of its own, so the database needs no cleaning.
func TestConformanceServer(t *testing.T) {
	url := os.Getenv("DISPO_ESDB_URL")
	if url == "" {
		t.Skip("DISPO_ESDB_URL is not set: no real EventStoreDB/KurrentDB to run the conformance suite against (the stand-in run covers the adapter)")
	}
	eventlogtest.Run(t, func(t *testing.T) eventlogtest.Log {
		opts := testOptions(t)
		opts.Prefix = "dispotest-" + randomHex(6) + "-"
		return mustOpen(t, url, opts)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
