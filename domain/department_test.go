package domain_test

import (
	"fmt"
	"testing"

	"dispo/domain"
)

func TestValidDepartment(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"01", true}, {"19", true}, {"21", true}, {"75", true}, {"77", true}, {"95", true},
		{"2A", true}, {"2B", true},
		{"971", true}, {"972", true}, {"973", true}, {"974", true}, {"975", true}, {"976", true},

		{"", false}, {"00", false}, {"20", false}, {"96", false}, {"99", false},
		{"970", false}, {"977", false}, {"980", false}, {"2C", false}, {"2a", false}, {"2b", false},
		{"1", false}, {"075", false}, {"0075", false}, {" 75", false}, {"75 ", false}, {"7 ", false},
		{"7５", false}, // full-width digit
		{"７５", false}, // both full-width
		{"٧٥", false}, // Arabic-Indic digits
		{"+75", false}, {"+7", false}, {"-1", false}, {"-01", false}, {"+97", false}, {"-97", false},
		{"9_7", false}, {"0x1", false}, {"1e1", false}, {"971\x00", false}, {"A2", false},
	}
	for _, tt := range tests {
		if got := domain.ValidDepartment(tt.code); got != tt.want {
			t.Errorf("ValidDepartment(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

// TestValidDepartmentRanges checks every two-digit code and every code from
// 960 to 980, in every width, against a list written out independently.
func TestValidDepartmentRanges(t *testing.T) {
	want := map[string]bool{"2A": true, "2B": true, "971": true, "972": true, "973": true, "974": true, "975": true, "976": true}
	for n := 1; n <= 95; n++ {
		if n != 20 {
			want[fmt.Sprintf("%02d", n)] = true
		}
	}
	check := func(code string) {
		t.Helper()
		if got := domain.ValidDepartment(code); got != want[code] {
			t.Errorf("ValidDepartment(%q) = %v, want %v", code, got, want[code])
		}
	}
	for n := 0; n <= 99; n++ {
		check(fmt.Sprintf("%02d", n))
		check(fmt.Sprintf("%03d", n))
		check(fmt.Sprint(n))
		check(fmt.Sprintf("+%d", n))
		check(fmt.Sprintf("-%d", n))
	}
	for n := 960; n <= 980; n++ {
		check(fmt.Sprint(n))
		check(fmt.Sprintf("0%d", n))
		check(fmt.Sprintf("+%d", n))
	}
	// Every one- and two-byte ASCII string: only the listed codes pass.
	for a := 0; a < 128; a++ {
		check(string(rune(a)))
		for b := 0; b < 128; b++ {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	if len(want) != 94+2+6 {
		t.Fatalf("expectation lists %d departments, want 102", len(want))
	}
}

func TestIleDeFrance(t *testing.T) {
	want := []string{"75", "77", "78", "91", "92", "93", "94", "95"}
	if fmt.Sprint(domain.IleDeFrance) != fmt.Sprint(want) {
		t.Fatalf("IleDeFrance = %v, want %v", domain.IleDeFrance, want)
	}
	for _, d := range domain.IleDeFrance {
		if !domain.ValidDepartment(d) {
			t.Errorf("ValidDepartment(%q) = false for a department of the region", d)
		}
	}
}
