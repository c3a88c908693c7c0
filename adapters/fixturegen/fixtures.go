package fixturegen

import (
	"iter"
	"slices"

	"dispo/domain"
)

// Fixture is a file of eventlog-fixtures/ and the events it holds.
type Fixture struct {
	Name   string // file name, e.g. "seed-77.jsonl"
	Events iter.Seq[domain.Envelope]
}

// Fixtures returns the fixture files in the order they are written: the
// department-77 seed, and the Île-de-France log generated with idf
// (DefaultIleDeFrance for the checked-in one).
func Fixtures(idf Config) ([]Fixture, error) {
	region, err := IleDeFrance(idf)
	if err != nil {
		return nil, err
	}
	return []Fixture{
		{Name: "seed-77.jsonl", Events: slices.Values(Seed77())},
		{Name: "idf-dialyse.jsonl", Events: region},
	}, nil
}
