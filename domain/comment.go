package domain

// Comments are shown to clinicians as typed. A bidirectional override or
// isolate (U+202A-U+202E, U+2066-U+2069) reorders what follows it on
// screen, and a zero-width character or mark (U+200B-U+200F) hides itself:
// "1 place le 11/03" could read otherwise than it was meant, or two
// comments that look the same differ. Such characters are refused in new
// comments only: events recorded before the rule took effect stay facts
// (old logs fold, old exports import), so the rule is not part of
// CommentSet.Validate but of the rule book's later rules (rules.go).

// invisibleRune returns the first character of s that the rule refuses.
func invisibleRune(s string) (rune, bool) {
	for _, r := range s {
		if r >= 0x200B && r <= 0x200F || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
			return r, true
		}
	}
	return 0, false
}
