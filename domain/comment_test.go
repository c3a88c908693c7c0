package domain_test

import (
	"fmt"
	"strings"
	"testing"

	"dispo/domain"
)

// invisibles are the characters new comments may not hold: every
// bidirectional override and isolate, every zero-width character and mark.
func invisibles() []rune {
	var rs []rune
	for _, span := range [][2]rune{{0x200B, 0x200F}, {0x202A, 0x202E}, {0x2066, 0x2069}} {
		for r := span[0]; r <= span[1]; r++ {
			rs = append(rs, r)
		}
	}
	return rs
}

// Every command that sets a comment refuses them, with the code and a
// French message naming the character; text around them is fine.
func TestNewCommentsRefuseInvisibleCharacters(t *testing.T) {
	s := given(t, domain.RegisterUnit{Unit: validUnit()})
	for _, r := range invisibles() {
		text := "1 place le 11/03" + string(r) + " à 10h"
		for _, cmd := range []domain.Command{
			domain.SetComment{Text: text},
			domain.DeclareAvailability{Available: 1, Installed: 2, Comment: &text},
		} {
			evs, err := domain.Decide(s, cmd, t0)
			if domain.ErrorCode(err) != domain.ECommentInvisible {
				t.Fatalf("%T with U+%04X: %v, %v; want %s", cmd, r, evs, err, domain.ECommentInvisible)
			}
			if msg := domain.ErrorMessage(err); !strings.Contains(msg, fmt.Sprintf("U+%04X", r)) || !strings.Contains(msg, "commentaire") {
				t.Fatalf("message %q names neither the comment nor the character", msg)
			}
		}
	}
	for _, ok := range []string{"1 place le 11/03 à 10h", "a\u00a0b", "\u200Ab", "\u2010tiret", "\u2070", "\u2065"} {
		if _, err := domain.Decide(s, domain.SetComment{Text: ok}, t0); err != nil {
			t.Errorf("comment %q refused: %v", ok, err)
		}
	}
}

// Events recorded before the rule are facts: a comment.set holding such
// characters decodes, is admitted by an import, and folds.
func TestRecordedCommentsWithInvisibleCharactersStillFold(t *testing.T) {
	s := given(t, domain.RegisterUnit{Unit: validUnit()})
	for _, r := range invisibles() {
		text := "abc\u202Efed" + string(r)
		data, err := domain.EncodeEvent(domain.CommentSet{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := domain.DecodeEvent(domain.TypeCommentSet, 1, data)
		if err != nil {
			t.Fatalf("U+%04X: a recorded comment does not decode: %v", r, err)
		}
		env := &domain.Envelope{Stream: domain.UnitStream("77-EG-01"), Event: ev, RecordedAt: t0}
		if err := domain.Admit(s, env); err != nil {
			t.Fatalf("U+%04X: a recorded comment is not admitted: %v", r, err)
		}
		st := *s
		st.Apply(env)
		if st.Comment() != text {
			t.Fatalf("folded comment %q, want %q", st.Comment(), text)
		}
	}
}
