package userfile

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"dispo/domain"
)

// Reasons a new password is refused: part of the interface, do not change.
const (
	PasswordTooShort           = "password_too_short"
	PasswordTooLong            = "password_too_long"
	PasswordNotUTF8            = "password_not_utf8"
	PasswordContainsID         = "password_contains_identifier"
	PasswordCommon             = "password_common"
	PasswordTooFewCharacters   = "password_repetitive"
	minDistinct                = 5 // characters: "aaaaaaaaaaaa", "123123123123", "abcdabcdabcd" are not passwords
	minIDLenForContainment     = 4 // a shorter identifier ("u1") is refused only as the whole password
	minCommonLenForContainment = 4
)

// PasswordError is a new password refused by the policy: an EInvalid
// *domain.Error (errors.As finds it) with a message for people, and a
// stable Reason for programs.
type PasswordError struct {
	Reason string
	err    *domain.Error
}

func (e *PasswordError) Error() string { return "userfile: " + e.err.Message }
func (e *PasswordError) Unwrap() error { return e.err }

func refuse(reason, format string, args ...any) error {
	return &PasswordError{Reason: reason, err: domain.Errorf(domain.EInvalid, format, args...)}
}

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is the embedded list, lowercase, parsed at first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 4096)
	for line := range strings.Lines(commonPasswordsText) {
		if line = strings.TrimRight(line, "\r\n"); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = struct{}{}
		}
	}
	return m
})

// CheckPassword applies the policy for a new password of user id, after
// NIST SP 800-63B (5.1.1.2): 12 to 256 characters of UTF-8, any of them;
// not the identifier nor containing it; not a common password of the
// embedded list (common-passwords.txt) nor one with only digits or signs
// around it; at least 5 different characters. Case does not matter to any
// comparison. No rule on kinds of characters: they make passwords harder
// to remember, not to guess.
func CheckPassword(id, password string) error {
	if !utf8.ValidString(password) {
		return refuse(PasswordNotUTF8, "le mot de passe n'est pas du texte UTF-8 valide")
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen {
		return refuse(PasswordTooShort, "le mot de passe doit compter au moins %d caractères (il en a %d) : une phrase de quelques mots se retient mieux qu'un mot compliqué", MinPasswordLen, n)
	}
	if n > MaxPasswordLen {
		return refuse(PasswordTooLong, "le mot de passe doit compter au plus %d caractères (il en a %d)", MaxPasswordLen, n)
	}
	lower := strings.ToLower(password)
	for _, part := range idParts(id) {
		if lower == part || len(part) >= minIDLenForContainment && strings.Contains(lower, part) {
			return refuse(PasswordContainsID, "le mot de passe ne doit pas contenir l'identifiant (%s)", id)
		}
	}
	common := commonPasswords()
	if _, ok := common[lower]; ok {
		return refuse(PasswordCommon, "ce mot de passe figure parmi les plus courants des listes de mots de passe divulgués : choisissez-en un autre, par exemple une phrase de quelques mots")
	}
	core := strings.TrimFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	if _, ok := common[core]; ok && utf8.RuneCountInString(core) >= minCommonLenForContainment {
		return refuse(PasswordCommon, "ce mot de passe n'est qu'un mot de passe courant entouré de chiffres ou de signes : choisissez-en un autre, par exemple une phrase de quelques mots")
	}
	distinct := map[rune]bool{}
	for _, r := range lower {
		distinct[r] = true
	}
	if len(distinct) < minDistinct {
		return refuse(PasswordTooFewCharacters, "le mot de passe n'a que %d caractères différents : il en faut au moins %d", len(distinct), minDistinct)
	}
	return nil
}

// idParts returns the forms of identifier id a password must not hold:
// the identifier and, for an e-mail address, its local part.
func idParts(id string) []string {
	id = strings.ToLower(id)
	if id == "" {
		return nil
	}
	parts := []string{id}
	if local, _, ok := strings.Cut(id, "@"); ok && local != "" {
		parts = append(parts, local)
	}
	return parts
}

// checkStored tells whether password could be a stored one, before paying
// for a hash: passwords set before the policy have 10 to 256 characters.
func checkStored(password string) error {
	if n := utf8.RuneCountInString(password); !utf8.ValidString(password) || n < minStoredLen || n > MaxPasswordLen {
		return fmt.Errorf("userfile: no stored password has this shape")
	}
	return nil
}
