package memlog_test

import (
	"testing"

	"dispo/adapters/eventlogtest"
	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
	"dispo/adapters/memlog"
	"dispo/domain"
	"dispo/projections"
)

// The ports the Log fills, as their users declare them: it stands in for
// the durable logs wherever a test needs one.
var (
	_ eventlogtest.Log         = (*memlog.Log)(nil)
	_ projections.AllReader    = (*memlog.Log)(nil)
	_ domain.UnitLog           = (*memlog.Log)(nil)
	_ jsonl.BatchAppender      = (*memlog.Log)(nil)
	_ jsonl.AllReader          = (*memlog.Log)(nil)
	_ fixturegen.BatchAppender = (*memlog.Log)(nil)
)

func TestConformance(t *testing.T) {
	eventlogtest.Run(t, func(t *testing.T) eventlogtest.Log {
		l := memlog.New()
		t.Cleanup(func() { l.Close() })
		return l
	})
}
