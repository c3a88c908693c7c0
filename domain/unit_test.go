package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"dispo/domain"
)

func TestValidFINESS(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"770110054", true}, {"750000000", true}, {"000000000", true}, {"999999999", true},
		{"2A0000001", true}, {"2B0000001", true}, {"200000001", true},

		{"", false}, {"77011005", false}, {"7701100540", false},
		{"77011005A", false}, {"A70110054", false}, {"2a0000001", false}, {"2b0000001", false},
		{"2C0000001", false}, {"3A0000001", false}, {"1B0000001", false},
		{"22A000001", false}, // A only right after the leading 2
		{"2AA000001", false}, {"2A000000B", false},
		{" 77011005", false}, {"77011005 ", false}, {"77011005\x00", false},
		{"+77011005", false}, {"-77011005", false},
		{"77011005５", false}, // full-width digit: 11 bytes
		{"7701100５", false},  // full-width digit: 9 runes, 11 bytes
		{"77-110054", false},
	}
	for _, tt := range tests {
		if got := domain.ValidFINESS(tt.s); got != tt.want {
			t.Errorf("ValidFINESS(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
	// Every byte at every position of a valid number.
	for pos := 0; pos < 9; pos++ {
		for b := 0; b < 256; b++ {
			s := []byte("200000000")
			s[pos] = byte(b)
			want := b >= '0' && b <= '9' || pos == 1 && (b == 'A' || b == 'B')
			if got := domain.ValidFINESS(string(s)); got != want {
				t.Errorf("ValidFINESS(%q) = %v, want %v", s, got, want)
			}
		}
	}
}

func TestValidUnitID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"a", true}, {"77-EG-01", true}, {"unit_1.2-B", true}, {"0", true}, {".", false}, {"..", false}, {"...", false}, {".a.", true}, {"-", true},
		{rep("x", 64), true},

		{"", false}, {rep("x", 65), false}, {"a b", false}, {"a/b", false}, {"a:b", false},
		{"é", false}, {"a\n", false}, {"a\x00", false}, {"$all", false}, {"a+b", false},
		{"ｕ", false}, // full-width u
	}
	for _, tt := range tests {
		if got := domain.ValidUnitID(tt.id); got != tt.want {
			t.Errorf("ValidUnitID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
	for b := 0; b < 256; b++ {
		want := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
		if got := domain.ValidUnitID("x" + string([]byte{byte(b)})); got != want {
			t.Errorf("ValidUnitID(%q) = %v, want %v", "x"+string([]byte{byte(b)}), got, want)
		}
	}
}

// TestValidText pins the decision: a control character is what
// unicode.IsControl says (categories Cc: C0, DEL and C1), so U+0085 NEL is
// refused while format characters such as U+200B ZERO WIDTH SPACE or the BOM
// and the separators U+2028/U+2029 are text.
func TestValidText(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{"empty", "", true},
		{"ascii", "1 place le 11/03 à 10h", true},
		{"accents", "Entraînement, UDM, réa", true},
		{"emoji", "\U0001F3E5", true},
		{"nbsp", "a\u00a0b", true},
		{"zero width space", "a\u200bb", true},
		{"bom", "\ufeffa", true},
		{"line separator", "a\u2028b", true},
		{"replacement char", "\ufffd", true},

		{"newline", "a\nb", false},
		{"carriage return", "a\rb", false},
		{"tab", "a\tb", false},
		{"nul", "\x00", false},
		{"escape", "\x1b[31m", false},
		{"del", "\x7f", false},
		{"nel", "a\u0085b", false},
		{"c1 last", "\u009f", false},
		{"invalid byte", "a\xffb", false},
		{"truncated sequence", "\xc3", false},
		{"overlong slash", "\xc0\xaf", false},
		{"utf-16 surrogate", "\xed\xa0\x80", false},
		{"above max rune", "\xf4\x90\x80\x80", false},
	}
	for _, tt := range tests {
		if got := domain.ValidText(tt.s); got != tt.want {
			t.Errorf("%s: ValidText(%q) = %v, want %v", tt.name, tt.s, got, tt.want)
		}
	}
	// Every code point: exactly U+0000-U+001F and U+007F-U+009F are refused.
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue // surrogates have no UTF-8 form
		}
		want := !(r <= 0x1f || r >= 0x7f && r <= 0x9f)
		if got := domain.ValidText("a" + string(r) + "b"); got != want {
			t.Errorf("ValidText(%U) = %v, want %v", r, got, want)
		}
	}
}

func TestValidStream(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"unit-77-EG-01", true}, {"a", true}, {rep("s", 200), true}, {"a$b", true}, {"~!#%&*", true},

		{"", false}, {rep("s", 201), false}, {"$all", false}, {"$", false}, {"unit 1", false},
		{"unit-1\n", false}, {"unit-\x7f", false}, {"unité", false}, {"a\tb", false}, {" a", false},
	}
	for _, tt := range tests {
		if got := domain.ValidStream(tt.name); got != tt.want {
			t.Errorf("ValidStream(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUnitStream(t *testing.T) {
	if got := domain.UnitStream("77-EG-01"); got != "unit-77-EG-01" {
		t.Errorf("UnitStream = %q, want %q", got, "unit-77-EG-01")
	}
	tests := []struct {
		stream string
		id     string
		ok     bool
	}{
		{"unit-77-EG-01", "77-EG-01", true},
		{"unit-", "", true},
		{"units-1", "", false},
		{"Unit-1", "", false},
		{"1", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		id, ok := domain.UnitIDFromStream(tt.stream)
		if id != tt.id || ok != tt.ok {
			t.Errorf("UnitIDFromStream(%q) = %q, %v, want %q, %v", tt.stream, id, ok, tt.id, tt.ok)
		}
	}
	id := validUnit().ID
	if got, ok := domain.UnitIDFromStream(domain.UnitStream(id)); !ok || got != id {
		t.Errorf("UnitIDFromStream(UnitStream(%q)) = %q, %v", id, got, ok)
	}
}

func TestUnitValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*domain.Unit)
		valid bool
	}{
		{"valid", func(*domain.Unit) {}, true},
		{"no phone", func(u *domain.Unit) { u.Phone = "" }, true},
		{"corsica", func(u *domain.Unit) { u.FINESS, u.Department = "2A0000001", "2A" }, true},
		{"overseas", func(u *domain.Unit) { u.Department = "974" }, true},
		{"id 64", func(u *domain.Unit) { u.ID = rep("i", 64) }, true},
		{"name 200 runes", func(u *domain.Unit) { u.Name = rep("é", 200) }, true},
		{"establishment 200 runes", func(u *domain.Unit) { u.Establishment = rep("€", 200) }, true},
		{"phone full", func(u *domain.Unit) { u.Phone = "+33 (0)1.64-00-00-00" }, true},
		{"phone 32", func(u *domain.Unit) { u.Phone = rep("0", 32) }, true},
		{"name with leading space", func(u *domain.Unit) { u.Name = " UDM" }, true},
		{"sync id", func(u *domain.Unit) { u.SyncID = "SSR38888" }, true},
		{"sync id 64", func(u *domain.Unit) { u.SyncID = rep("s", 64) }, true},

		{"id empty", func(u *domain.Unit) { u.ID = "" }, false},
		{"id 65", func(u *domain.Unit) { u.ID = rep("i", 65) }, false},
		{"id space", func(u *domain.Unit) { u.ID = "77 EG" }, false},
		{"finess short", func(u *domain.Unit) { u.FINESS = "77011005" }, false},
		{"finess letter", func(u *domain.Unit) { u.FINESS = "77011005X" }, false},
		{"establishment empty", func(u *domain.Unit) { u.Establishment = "" }, false},
		{"establishment blank", func(u *domain.Unit) { u.Establishment = " \u00a0 " }, false},
		{"establishment 201 runes", func(u *domain.Unit) { u.Establishment = rep("é", 201) }, false},
		{"establishment control", func(u *domain.Unit) { u.Establishment = "E\x00G" }, false},
		{"establishment invalid utf8", func(u *domain.Unit) { u.Establishment = "E\xffG" }, false},
		{"department empty", func(u *domain.Unit) { u.Department = "" }, false},
		{"department 20", func(u *domain.Unit) { u.Department = "20" }, false},
		{"department 96", func(u *domain.Unit) { u.Department = "96" }, false},
		{"type empty", func(u *domain.Unit) { u.Type = "" }, false},
		{"type unknown", func(u *domain.Unit) { u.Type = "UDM" }, false},
		{"name empty", func(u *domain.Unit) { u.Name = "" }, false},
		{"name blank", func(u *domain.Unit) { u.Name = "   " }, false},
		{"name 201 runes", func(u *domain.Unit) { u.Name = rep("a", 201) }, false},
		{"name newline", func(u *domain.Unit) { u.Name = "UDM\nB" }, false},
		{"name nel", func(u *domain.Unit) { u.Name = "UDM\u0085" }, false},
		{"name invalid utf8", func(u *domain.Unit) { u.Name = "UDM\xc3" }, false},
		{"phone 33", func(u *domain.Unit) { u.Phone = rep("0", 33) }, false},
		{"phone letters", func(u *domain.Unit) { u.Phone = "01 CALL ME" }, false},
		{"phone tab", func(u *domain.Unit) { u.Phone = "01\t64" }, false},
		{"phone full-width", func(u *domain.Unit) { u.Phone = "０１" }, false},
		{"sync id 65", func(u *domain.Unit) { u.SyncID = rep("s", 65) }, false},
		{"sync id with a slash", func(u *domain.Unit) { u.SyncID = "1350054680/SSR38888" }, false}, // the slash separates it from IdNatStruct
		{"sync id space", func(u *domain.Unit) { u.SyncID = "SSR 1" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := validUnit()
			tt.edit(&u)
			err := u.Validate()
			if tt.valid {
				wantCode(t, err, "")
				return
			}
			wantCode(t, err, domain.EInvalid)
		})
	}
	for _, ty := range domain.UnitTypes {
		u := validUnit()
		u.Type = ty.Code
		if err := u.Validate(); err != nil {
			t.Errorf("unit of type %q: %v", ty.Code, err)
		}
	}
}

// TestTextLimits checks that limits count characters (runes), not bytes, and
// hold exactly at the limit: the comment, the closure reason.
func TestTextLimits(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		valid bool
	}{
		{"500 ascii", rep("a", 500), true},
		{"500 é (1000 bytes)", rep("é", 500), true},
		{"500 emoji (2000 bytes)", rep("\U0001F3E5", 500), true},
		{"250 decomposed é (500 runes)", rep("e\u0301", 250), true},
		{"one", "x", true},

		{"501 ascii", rep("a", 501), false},
		{"501 é", rep("é", 501), false},
		{"251 decomposed é (502 runes)", rep("e\u0301", 251), false},
		{"empty", "", false},
		{"blank", " \t", false},
		{"spaces", "   ", false},
		{"newline", "1 place\nle 11/03", false},
		{"tab", "1\tplace", false},
		{"del", "1 place\x7f", false},
		{"nel", "1 place\u0085", false},
		{"invalid utf8", "1 place \xe9", false},
		{"499 é then invalid byte", rep("é", 499) + "\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ""
			if !tt.valid {
				want = domain.EInvalid
			}
			wantCode(t, domain.CommentSet{Text: tt.text}.Validate(), want)
			wantCode(t, domain.UnitClosed{Reason: tt.text, Start: t0}.Validate(), want)
			if strings.TrimSpace(tt.text) == "" {
				return // an empty SetComment clears; see TestDecideComment
			}
			_, err := domain.Decide(registered(t), domain.SetComment{Text: tt.text}, t0)
			wantCode(t, err, want)
		})
	}
}
