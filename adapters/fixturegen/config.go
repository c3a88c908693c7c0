package fixturegen

import (
	"fmt"
	"time"
)

// Config shapes an Île-de-France log. The zero value of a count means none;
// DefaultIleDeFrance gives the values of the checked-in fixture.
type Config struct {
	Seed  uint64    // everything random derives from it
	Units int       // dialysis units, grouped into establishments of 1 to 4
	Weeks int       // length of the window
	Start time.Time // the window starts at midnight, Paris time, of Start's day in Paris

	// Events, when > 0, makes the log exactly that long (unless every unit
	// stops first): generation goes on past the window as far as needed, and
	// the special cases below stay within the window. For benchmarks.
	Events int

	Pool              int // units of one establishment sharing their places: 0, or 2 to 4; the last leaves the pool before the end when 3 or more
	Closures          int // units closed for a while and reopened, one closure each
	PermanentClosures int // units closed for good, not reopenable
	Laggards          int // units that miss the weekly obligation: half (rounded down) lapse mid-window, the others stop declaring 8 to 13 days before its end
	DetailsChanges    int // units whose phone number changes once
}

// DefaultIleDeFrance is the configuration of eventlog-fixtures/idf-dialyse.jsonl:
// 180 units, 26 weeks from Monday 29 September 2025, so that the window
// spans both daylight-saving changes (26 October 2025, 29 March 2026).
func DefaultIleDeFrance() Config {
	return Config{
		Seed:              20250929,
		Units:             180,
		Weeks:             26,
		Start:             time.Date(2025, 9, 29, 0, 0, 0, 0, paris),
		Pool:              3,
		Closures:          4,
		PermanentClosures: 1,
		Laggards:          4,
		DetailsChanges:    3,
	}
}

// Limits of a Config, to keep generation finite and times printable.
const (
	maxUnits  = 100_000
	maxWeeks  = 52 * 50
	maxEvents = 1_000_000_000
)

// Validate reports what is wrong with c, if anything.
func (c Config) Validate() error {
	special := c.Pool + c.Closures + c.PermanentClosures + c.Laggards
	switch {
	case c.Units < 1 || c.Units > maxUnits:
		return fmt.Errorf("fixturegen: units must be 1 to %d, not %d", maxUnits, c.Units)
	case c.Weeks < 1 || c.Weeks > maxWeeks:
		return fmt.Errorf("fixturegen: weeks must be 1 to %d, not %d", maxWeeks, c.Weeks)
	case c.Start.IsZero() || c.Start.Year() < 1900 || c.Start.Year() > 9000:
		return fmt.Errorf("fixturegen: start must be a date between 1900 and 9000, not %v", c.Start)
	case c.Events < 0 || c.Events > maxEvents:
		return fmt.Errorf("fixturegen: events must be 0 to %d, not %d", maxEvents, c.Events)
	case c.Pool < 0 || c.Pool == 1 || c.Pool > 4:
		return fmt.Errorf("fixturegen: a pool has 2 to 4 units (0 for none), not %d", c.Pool)
	case c.Closures < 0 || c.PermanentClosures < 0 || c.Laggards < 0 || c.DetailsChanges < 0:
		return fmt.Errorf("fixturegen: counts of special cases cannot be negative")
	case special > c.Units:
		return fmt.Errorf("fixturegen: %d units cannot hold %d special cases (pool, closures, laggards)", c.Units, special)
	case c.DetailsChanges > c.Units:
		return fmt.Errorf("fixturegen: %d details changes for %d units", c.DetailsChanges, c.Units)
	case special+c.DetailsChanges > 0 && c.Weeks < minSpecialWeeks:
		return fmt.Errorf("fixturegen: special cases need a window of at least %d weeks, not %d", minSpecialWeeks, c.Weeks)
	}
	return nil
}

// minSpecialWeeks leaves room for a closure, a lapse and the weeks around.
const minSpecialWeeks = 8
