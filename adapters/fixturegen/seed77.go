package fixturegen

import (
	"time"

	"dispo/domain"
)

// Seed77 establishment: the detail table of the ROR guide shows it as "EG"
// in Seine-et-Marne; its FINESS number is made up.
const (
	Seed77FINESS        = "770110054"
	Seed77Establishment = "EG"
)

// Seed77 returns the log behind the department-77 detail table of the ROR
// guide (DOMAIN.md). Folded, its four units read, sorted by establishment
// then unit id:
//
//	EG  Unité de dialyse médicalisée  0 / 20  12:47 le 09/08/2024
//	EG  Auto dialyse                  1 / 18  12:47 le 09/08/2024
//	EG  Centre Lourd                  0 / 24  12:47 le 09/08/2024
//	EG  Unité de dialyse médicalisée  0 / 0   15:30 le 06/03/2025
//
// (Paris time), no phone, no comment, none closed, no pool. The first three
// units are imported on 1 August 2024 and declare twice; the fourth, a new
// UDM not yet equipped, is imported on 3 March 2025 and declares once. The
// events are chained, and a seal ends the log (18:00 on 6 March 2025).
func Seed77() []domain.Envelope {
	unit := func(n, typ, name string) domain.Unit {
		return domain.Unit{ID: "77-EG-" + n, FINESS: Seed77FINESS, Establishment: Seed77Establishment,
			Department: "77", Type: typ, Name: name}
	}
	udm := unit("01", "udm", "Unité de dialyse médicalisée")
	auto := unit("02", "autodialyse", "Auto dialyse")
	centre := unit("03", "centre_lourd", "Centre Lourd")
	newUDM := unit("04", "udm", "Unité de dialyse médicalisée")
	resp := domain.Actor{UserID: "resp-" + Seed77FINESS + "-1", Role: domain.RoleResponsable, Establishment: Seed77FINESS}

	s := stamper{ids: chacha(77, "seed-77")}
	revisions := map[string]*uint64{}
	var log []domain.Envelope
	add := func(at time.Time, actor domain.Actor, source domain.Source, corr string, u domain.Unit, events ...domain.Event) {
		if revisions[u.ID] == nil {
			revisions[u.ID] = new(uint64)
		}
		g := group{at: at, actor: actor, source: source, corr: corr, events: events}
		log = append(log, s.envelopes(u.ID, revisions[u.ID], g)...)
	}
	declare := func(a, i, c int) domain.Event {
		return domain.AvailabilityDeclared{Available: a, Installed: i, ClosedPlaces: c}
	}

	imported := wall(2024, time.August, 1, 9, 0)
	importCorr := newUUID(chacha(77, "seed-77 import")).String()
	for _, u := range []domain.Unit{udm, auto, centre} {
		add(imported, admin, domain.SourceImport, importCorr, u, domain.UnitRegistered{Unit: u})
	}

	monday := wall(2024, time.August, 5, 9, 12)
	add(monday, resp, domain.SourceManual, "", udm, declare(1, 20, 0))
	add(monday.Add(40*time.Second), resp, domain.SourceManual, "", auto, declare(2, 18, 0),
		domain.CommentSet{Text: "2 places le 07/08 à 7h"})
	add(monday.Add(95*time.Second), resp, domain.SourceManual, "", centre, declare(0, 24, 2))

	friday := wall(2024, time.August, 9, 12, 47) // the table's "12:47 le 09/08/2024"
	add(friday, resp, domain.SourceManual, "", udm, declare(0, 20, 0))
	add(friday, resp, domain.SourceManual, "", auto, declare(1, 18, 0), domain.CommentCleared{})
	add(friday, resp, domain.SourceManual, "", centre, declare(0, 24, 0))

	add(wall(2025, time.March, 3, 9, 30), admin, domain.SourceImport, "", newUDM, domain.UnitRegistered{Unit: newUDM})
	add(wall(2025, time.March, 6, 15, 30), resp, domain.SourceManual, "", newUDM, declare(0, 0, 0)) // "15:30 le 06/03/2025"
	return append(log, s.seal(wall(2025, time.March, 6, 18, 0)))
}
