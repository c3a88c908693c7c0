package jsonl_test

import (
	"reflect"
	"time"

	"dispo/domain"
)

// samples returns one valid envelope per event type, in domain.EventTypes
// order, as a log would store them.
func samples() []domain.Envelope {
	unit := domain.Unit{
		ID: "77-EG-02", FINESS: "770110054", Establishment: "EG", Department: "77",
		Type: "autodialyse", Name: "Auto dialyse", Phone: "01 64 35 38 00",
	}
	renamed := unit
	renamed.Name = "Autodialyse « Les Tilleuls »"
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2024, 8, 9, 10, 47, 0, 123456789, paris) // + 2h: the seed's 12:47 for the declaration
	resp := domain.Actor{UserID: "resp-770110054-1", Role: domain.RoleResponsable, Establishment: "770110054"}
	admin := domain.Actor{UserID: "admin-ars-idf", Role: domain.RoleAdmin}
	events := []struct {
		ev     domain.Event
		actor  domain.Actor
		source domain.Source
		corr   string
	}{
		{domain.UnitRegistered{Unit: unit}, admin, domain.SourceImport, "import-2024-08-01"},
		{domain.UnitDetailsChanged{Unit: renamed}, admin, domain.SourceManual, ""},
		{domain.AvailabilityDeclared{Available: 1, Installed: 18, ClosedPlaces: 2}, resp, domain.SourceManual, "f0e1d2c3"},
		{domain.CommentSet{Text: "1 place le 11/03 à 10h <urgent> & \"vite\""}, resp, domain.SourceManual, "f0e1d2c3"},
		{domain.CommentCleared{}, resp, domain.SourceAPI, ""},
		{domain.UnitClosed{
			Reason:     "Panne du traitement d'eau",
			Start:      time.Date(2024, 10, 27, 2, 30, 0, 0, paris), // the repeated hour of the DST change
			PlannedEnd: time.Date(2024, 11, 3, 18, 0, 0, 0, paris),
			Reopenable: true,
		}, resp, domain.SourceManual, ""},
		{domain.UnitReopened{}, resp, domain.SourceManual, ""},
		{domain.UnitPooled{Pool: "pool-770110054-1"}, admin, domain.SourceManual, ""},
		{domain.UnitUnpooled{}, domain.Actor{}, domain.SourceImport, ""},
		{domain.AvailabilityDeclared{Available: 14, Installed: 18}, resp, domain.SourceAPI, ""},
		// Corrects the declaration just before: its id is set below.
		{domain.AvailabilityCorrected{Available: 1, Installed: 18, Reason: "faute de frappe"}, resp, domain.SourceManual, ""},
		{domain.UnitClosed{Reason: "fermée par erreur", Start: time.Date(2024, 11, 5, 9, 0, 0, 0, paris)}, resp, domain.SourceManual, ""},
		{domain.ClosureCancelled{Reason: "fermeture saisie sur la mauvaise UO"}, admin, domain.SourceManual, ""},
		{domain.UnitRetired{Reason: "UO fusionnée"}, admin, domain.SourceManual, ""},
	}
	out := make([]domain.Envelope, len(events))
	for i, e := range events {
		out[i] = domain.Envelope{
			ID:            domain.EventID{0x3f, 0x1c, 0x0a, 0x52, 0x9a, 0x4e, 0x4b, 0x8e, 0x8d, 0x0b, 0x5b, 0x1f, 0x2a, 0x6c, 0x7d, byte(i + 1)},
			Stream:        domain.UnitStream(unit.ID),
			SchemaVersion: domain.CurrentSchema(e.ev.EventType()),
			Position:      uint64(40 + i),
			Revision:      uint64(i),
			RecordedAt:    at.Add(time.Duration(i) * time.Hour).UTC(),
			Actor:         e.actor,
			Source:        e.source,
			CorrelationID: e.corr,
			Event:         e.ev,
		}
	}
	for i := range out {
		if c, ok := out[i].Event.(domain.AvailabilityCorrected); ok {
			c.Corrects = out[i-1].ID.String()
			out[i].Event = c
		}
	}
	// A whole second, written without a fraction.
	out[0].RecordedAt = time.Date(2024, 8, 1, 7, 0, 0, 0, time.UTC)

	// A seal, last: the only chained sample (the second of its stream).
	seal := domain.Envelope{
		ID:            domain.EventID{0x3f, 0x1c, 0x0a, 0x52, 0x9a, 0x4e, 0x4b, 0x8e, 0x8d, 0x0b, 0x5b, 0x1f, 0x2a, 0x6c, 0x7e, 0x01},
		Stream:        domain.SealStream,
		SchemaVersion: domain.CurrentSchema(domain.TypeLogSealed),
		Position:      uint64(40 + len(out)),
		Revision:      1,
		RecordedAt:    at.Add(24 * time.Hour).UTC(),
		Actor:         admin,
		Source:        domain.SourceManual,
		CorrelationID: "seal-2024-08-10",
		Event: domain.LogSealed{Heads: []domain.StreamHead{
			{Stream: domain.UnitStream(unit.ID), Revision: 8, Hash: "9c1e0d5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d"},
			{Stream: "unit-77-EG-03", Revision: 0, Hash: "1f2e3d4c5b6a7980f1e2d3c4b5a69788f9e0d1c2b3a4958677869504a3b2c1d0"},
		}},
	}
	seals := []domain.Envelope{seal}
	if err := domain.Chain(seals, domain.Hash{0xab, 0xcd}); err != nil {
		panic(err)
	}
	return append(out, seals[0])
}

// sameEnvelope reports whether a and b are the same envelope: the same
// instants (compared with time.Time.Equal) and otherwise deeply equal.
func sameEnvelope(a, b domain.Envelope) bool {
	if !a.RecordedAt.Equal(b.RecordedAt) {
		return false
	}
	a.RecordedAt, b.RecordedAt = time.Time{}, time.Time{}
	ca, oka := a.Event.(domain.UnitClosed)
	cb, okb := b.Event.(domain.UnitClosed)
	if oka && okb {
		if !ca.Start.Equal(cb.Start) || !ca.PlannedEnd.Equal(cb.PlannedEnd) {
			return false
		}
		ca.Start, ca.PlannedEnd, cb.Start, cb.PlannedEnd = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		a.Event, b.Event = ca, cb
	}
	return reflect.DeepEqual(a, b)
}
