package fixturegen_test

import (
	"testing"
	"time"

	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
)

// large is the configuration of a benchmark-sized log: a million events.
func large() fixturegen.Config {
	cfg := fixturegen.DefaultIleDeFrance()
	cfg.Units = 2000
	cfg.Events = 1_000_000
	return cfg
}

func TestIleDeFranceMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("a million events")
	}
	log, err := fixturegen.IleDeFrance(large())
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	var n, last uint64
	var lastAt time.Time
	for env := range log {
		n++
		if env.Position != last+1 || env.RecordedAt.Before(lastAt) {
			t.Fatalf("event %d: position %d at %v after %d at %v", n, env.Position, env.RecordedAt, last, lastAt)
		}
		last, lastAt = env.Position, env.RecordedAt
	}
	if n != 1_000_000 {
		t.Fatalf("%d events, want 1000000", n)
	}
	t.Logf("1000000 events in %v, up to %v", time.Since(begin), lastAt)
}

func BenchmarkIleDeFrance(b *testing.B) {
	cfg := large()
	cfg.Events = b.N
	log, err := fixturegen.IleDeFrance(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range log {
	}
}

func BenchmarkIleDeFranceJSONL(b *testing.B) {
	cfg := large()
	cfg.Events = b.N
	log, err := fixturegen.IleDeFrance(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for env := range log {
		if _, err := jsonl.Marshal(&env); err != nil {
			b.Fatal(err)
		}
	}
}
