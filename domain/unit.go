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
	// Commune is where the unit is, as clinicians search for it
	// ("Melun"); set by an admin, "" when not given.
	Commune string `json:"commune,omitempty"`
	// SyncID is the establishment's own id for the unit's places (the
	// national ROR's idExterneSynchro): bed-management software names the
	// unit by it in the national PATCH, as {IdNatStruct}/{SyncID}. Set by
	// an admin, "" when none; nothing makes it unique, and a write that
	// finds it twice is refused (as the national directory does).
	SyncID string `json:"sync_id,omitempty"`
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

// checkText judges a free-text field; label is how the message names it.
func checkText(field, label, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return FieldErrorf(EInvalid, field, "%s est obligatoire", label)
	case !ValidText(s):
		return FieldErrorf(EInvalid, field, "%s doit être du texte UTF-8 sans caractère de contrôle", label)
	case utf8.RuneCountInString(s) > max:
		return FieldErrorf(EInvalid, field, "%s dépasse %d caractères", label, max)
	}
	return nil
}

// Validate checks every field of u.
func (u Unit) Validate() error {
	if !ValidUnitID(u.ID) {
		return InvalidUnitID("unit_id", u.ID)
	}
	if !ValidFINESS(u.FINESS) {
		return FieldErrorf(EInvalid, "finess", "numéro FINESS %q invalide : 9 chiffres (2A/2B admis pour la Corse)", u.FINESS)
	}
	if err := checkText("establishment", "le nom de l'établissement", u.Establishment, MaxNameLen, true); err != nil {
		return err
	}
	if !ValidDepartment(u.Department) {
		return FieldErrorf(EInvalid, "department", "département %q inconnu", u.Department)
	}
	if _, ok := LookupType(u.Type); !ok {
		return FieldErrorf(EInvalid, "type", "type d'unité %q inconnu", u.Type)
	}
	if err := checkText("name", "le nom de l'UO", u.Name, MaxNameLen, true); err != nil {
		return err
	}
	if !validPhone(u.Phone) {
		return FieldErrorf(EInvalid, "phone", "téléphone %q invalide : chiffres, espaces et + . - ( ), 32 au plus", u.Phone)
	}
	if err := checkText("commune", "la commune", u.Commune, MaxNameLen, false); err != nil {
		return err
	}
	if u.SyncID != "" && !ValidUnitID(u.SyncID) {
		return FieldErrorf(EInvalid, "sync_id", "identifiant de synchronisation %q invalide : 1 à 64 caractères parmi A-Z a-z 0-9 . _ -", strings.ToValidUTF8(u.SyncID, ""))
	}
	return nil
}

// InvalidUnitID is the refusal of a malformed unit id given as field.
func InvalidUnitID(field, id string) *Error {
	if len(id) > 80 {
		id = id[:80] + "…"
	}
	return FieldErrorf(EInvalid, field, "identifiant d'UO %q invalide : 1 à 64 caractères parmi A-Z a-z 0-9 . _ -", strings.ToValidUTF8(id, ""))
}
