package domain

import (
	"time"
	_ "time/tzdata" // Europe/Paris on machines without zoneinfo
)

// paris is where the ROR's users read their clocks: events store UTC,
// whatever people read is in Europe/Paris.
var paris = mustLoadLocation("Europe/Paris")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("domain: " + err.Error()) // cannot happen: time/tzdata is embedded
	}
	return loc
}

// Paris is the Europe/Paris zone, embedded.
func Paris() *time.Location { return paris }

// FormatParis formats t as the ROR shows it, in Europe/Paris local time:
// "12:47 le 09/08/2024". The zero time ("never") is "".
func FormatParis(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(paris).Format("15:04 le 02/01/2006")
}
