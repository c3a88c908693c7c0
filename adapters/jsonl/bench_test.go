package jsonl_test

import (
	"testing"

	"dispo/adapters/jsonl"
)

func BenchmarkMarshal(b *testing.B) {
	env := samples()[2]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jsonl.Marshal(&env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	line := []byte(goodLine)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := jsonl.Unmarshal(line); err != nil {
			b.Fatal(err)
		}
	}
}
