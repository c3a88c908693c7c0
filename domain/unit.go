package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// UnitStreamPrefix names unit streams: "unit-" + unit id.
const UnitStreamPrefix = "unit-"

// UnitStream returns the stream of unit id.
func UnitStream(id string) string { return UnitStreamPrefix + id }

// UnitIDFromStream returns the unit id of a unit stream.
func UnitIDFromStream(stream string) (string, bool) {
	if !strings.HasPrefix(stream, UnitStreamPrefix) {
		return "", false
	}
	return stream[len(UnitStreamPrefix):], true
}

// Unit is what the directory knows of a unit (UO): who it belongs to, where
// it is, what it is and how to call it.
type Unit struct {
	ID            string `json:"unit_id"`
	FINESS        string `json:"finess"`
	Establishment string `json:"establishment"`
	Department    string `json:"department"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	Phone         string `json:"phone,omitempty"`
}

// Limits of free text, in characters.
const (
	MaxCommentLen = 500
	MaxNameLen    = 200
	MaxReasonLen  = 500
	MaxCount      = 100000 // no unit has that many places; guards arithmetic
)

// ValidUnitID reports whether id can identify a unit: 1 to 64 of
// A-Z a-z 0-9 . _ - (directory identifiers are of that shape), not only
// dots: "." and ".." are path segments no URL can carry.
func ValidUnitID(id string) bool {
	if id == "" || len(id) > 64 || strings.Trim(id, ".") == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidFINESS reports whether s has the shape of a FINESS number: 9
// characters, digits, the department prefix possibly 2A or 2B.
func ValidFINESS(s string) bool {
	if len(s) != 9 {
		return false
	}
	for i := 0; i < 9; i++ {
		c := s[i]
		if c >= '0' && c <= '9' || i == 1 && s[0] == '2' && (c == 'A' || c == 'B') {
			continue
		}
		return false
	}
	return true
}

// ValidText reports whether s is valid UTF-8 without control characters.
func ValidText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func validPhone(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || strings.IndexByte(" +.-()", c) >= 0) {
			return false
		}
	}
	return true
}

func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return Errorf(EInvalid, "%s is required", field)
	case !ValidText(s):
		return Errorf(EInvalid, "%s must be valid UTF-8 without control characters", field)
	case utf8.RuneCountInString(s) > max:
		return Errorf(EInvalid, "%s is longer than %d characters", field, max)
	}
	return nil
}

// Validate checks every field of u.
func (u Unit) Validate() error {
	if !ValidUnitID(u.ID) {
		return Errorf(EInvalid, "invalid unit id %q: 1 to 64 of A-Z a-z 0-9 . _ -", u.ID)
	}
	if !ValidFINESS(u.FINESS) {
		return Errorf(EInvalid, "invalid FINESS %q: 9 digits (2A/2B allowed for Corsica)", u.FINESS)
	}
	if err := checkText("establishment", u.Establishment, MaxNameLen, true); err != nil {
		return err
	}
	if !ValidDepartment(u.Department) {
		return Errorf(EInvalid, "unknown department %q", u.Department)
	}
	if _, ok := LookupType(u.Type); !ok {
		return Errorf(EInvalid, "unknown unit type %q", u.Type)
	}
	if err := checkText("name", u.Name, MaxNameLen, true); err != nil {
		return err
	}
	if !validPhone(u.Phone) {
		return Errorf(EInvalid, "invalid phone %q: digits, spaces and + . - ( ), at most 32", u.Phone)
	}
	return nil
}
