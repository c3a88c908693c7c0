package projections

import (
	"time"

	"dispo/domain"
)

// paris is where the ROR's users read their clocks.
var paris = domain.Paris()

// FormatParis formats t as the ROR shows it, in Europe/Paris local time:
// "12:47 le 09/08/2024". The zero time ("never") is "".
func FormatParis(t time.Time) string { return domain.FormatParis(t) }
