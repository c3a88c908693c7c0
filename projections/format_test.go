package projections

import (
	"testing"
	"time"
)

func TestFormatParis(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 8, 9, 10, 47, 0, 0, time.UTC), "12:47 le 09/08/2024"},                    // CEST, UTC+2
		{time.Date(2025, 3, 6, 14, 30, 0, 0, time.UTC), "15:30 le 06/03/2025"},                    // CET, UTC+1
		{time.Date(2024, 12, 31, 23, 5, 0, 0, time.UTC), "00:05 le 01/01/2025"},                   // crosses the year
		{time.Date(2024, 8, 9, 5, 47, 0, 0, time.FixedZone("X", -5*3600)), "12:47 le 09/08/2024"}, // any input zone
		{time.Time{}, ""},
	} {
		if got := FormatParis(tc.in); got != tc.want {
			t.Errorf("FormatParis(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
