package fixturegen

import (
	"math/rand/v2"
	"time"
	_ "time/tzdata" // office hours are Paris time, whatever the host has installed
)

// paris is where office hours and the window's weeks are reckoned.
var paris = mustLoadParis()

func mustLoadParis() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil { // cannot happen: time/tzdata is embedded
		panic("fixturegen: " + err.Error())
	}
	return loc
}

// wall returns the instant of a Paris wall-clock time.
func wall(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, paris).UTC()
}

// onDay returns the instant of hh:mm, Paris time, on the day of t: unlike
// adding hours to midnight, right on the days clocks change too.
func onDay(t time.Time, hh, mm int) time.Time {
	y, m, d := t.In(paris).Date()
	return time.Date(y, m, d, hh, mm, 0, 0, paris).UTC()
}

// midnight returns the Paris midnight starting the day of t, days later.
func midnight(t time.Time, days int) time.Time {
	y, m, d := t.In(paris).Date()
	return time.Date(y, m, d+days, 0, 0, 0, 0, paris)
}

// office says on which days a unit's declarant works.
type office struct {
	saturday, sunday bool
}

func (o office) works(day time.Time) bool {
	switch day.In(paris).Weekday() {
	case time.Saturday:
		return o.saturday
	case time.Sunday:
		return o.sunday
	}
	return true
}

// hourWeights: declarations cluster in the morning, after the first
// sessions, and again early in the afternoon.
var hourWeights = []int{8: 3, 9: 5, 10: 5, 11: 3, 12: 1, 13: 2, 14: 3, 15: 2, 16: 2, 17: 1}

// clock returns a random office-hours instant of the Paris day starting at
// midnight day: 08:00-18:00 on weekdays, mornings on weekends.
func clock(r *rand.Rand, day time.Time) time.Time {
	var h int
	switch day.Weekday() {
	case time.Saturday:
		h = 8 + r.IntN(4)
	case time.Sunday:
		h = 9 + r.IntN(3)
	default:
		h = pick(r, hourWeights)
	}
	y, m, d := day.Date()
	return time.Date(y, m, d, h, r.IntN(60), r.IntN(60), r.IntN(1e9), paris).UTC()
}

// pick returns an index of weights at random, in proportion to its weight.
func pick(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// between returns a random int in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }
