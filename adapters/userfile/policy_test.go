package userfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"dispo/adapters/userfile"
	"dispo/domain"
)

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		id, password, reason string
	}{
		{"alice", "correct horse battery", ""},
		{"alice", "Xk7#pq2!mZ9w", ""}, // 12 characters of anything
		{"alice", "l'été à Meaux, 3 places", ""},
		{"alice", "ABCDEFGHJKLMNPQR", ""}, // serve --demo's shape: 16 of rand.Text
		{"alice", "elevenchars", userfile.PasswordTooShort},
		{"alice", "éééééééééé", userfile.PasswordTooShort},
		{"alice", strings.Repeat("é", 257), userfile.PasswordTooLong},
		{"alice", "correct horse battery\xff", userfile.PasswordNotUTF8},
		{"resp-770110054", "resp-770110054", userfile.PasswordContainsID},
		{"resp-770110054", "my RESP-770110054 pass", userfile.PasswordContainsID},
		{"jeanne.martin@chu.fr", "jeanne.martin forever", userfile.PasswordContainsID},
		{"u1", "u1u1u1 and more words", ""}, // too short an identifier to look for inside
		{"u1", "U1", userfile.PasswordTooShort},
		{"alice", "azertyuiop123", userfile.PasswordCommon},
		{"alice", "MotDePasse2024", userfile.PasswordCommon},
		{"alice", "motdepasse123", userfile.PasswordCommon},
		{"alice", "123soleil2025!", userfile.PasswordCommon},
		{"alice", "Marseille13013", userfile.PasswordCommon},
		{"alice", "chouchou!!!!", userfile.PasswordCommon},
		{"alice", "doudoudoudou", userfile.PasswordCommon},
		{"alice", "bonjourbonjour", userfile.PasswordCommon},
		{"alice", "loulou123456", userfile.PasswordCommon},
		{"alice", "qwertyuiop123", userfile.PasswordCommon},
		{"alice", "iloveyou1234", userfile.PasswordCommon},
		{"alice", "PASSWORD1234", userfile.PasswordCommon},
		{"alice", "123456789012", userfile.PasswordCommon},
		{"alice", "aaaaaaaaaaaa", userfile.PasswordCommon},
		{"alice", "mmmmmmmmmmmmmm", userfile.PasswordTooFewCharacters},
		{"alice", "abcdabcdabcd", userfile.PasswordTooFewCharacters},
	} {
		err := userfile.CheckPassword(tc.id, tc.password)
		var pe *userfile.PasswordError
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("CheckPassword(%q, %q) = %v, want accepted", tc.id, tc.password, err)
		case tc.reason == "":
		case !errors.As(err, &pe) || pe.Reason != tc.reason:
			t.Errorf("CheckPassword(%q, %q) = %v, want reason %s", tc.id, tc.password, err, tc.reason)
		case domain.ErrorCode(err) != domain.EInvalid || !strings.HasPrefix(domain.ErrorMessage(err), "le mot de passe") && !strings.HasPrefix(domain.ErrorMessage(err), "ce mot de passe"):
			t.Errorf("CheckPassword(%q, %q): code %s, message %q", tc.id, tc.password, domain.ErrorCode(err), domain.ErrorMessage(err))
		case tc.reason != userfile.PasswordContainsID && strings.Contains(domain.ErrorMessage(err), tc.password):
			t.Errorf("the message shows the password: %q", domain.ErrorMessage(err))
		}
	}
	if n := userfile.CommonPasswords(); n < 3000 {
		t.Fatalf("%d common passwords embedded", n)
	}
}

// A refused password changes nothing: neither Add nor SetPassword writes.
func TestPolicyRefusalsChangeNothing(t *testing.T) {
	s, path := newStore(t)
	mustAdd(t, s, "alice", domain.RoleAnalyst)
	before, _ := os.ReadFile(path)
	for _, err := range []error{
		s.Add(userfile.User{ID: "bob", Role: domain.RoleAnalyst}, "azertyuiop123"),
		s.Add(userfile.User{ID: "bobby", Role: domain.RoleAnalyst}, "Bobby is my name"),
		s.SetPassword("alice", "alice-password"),
		s.SetPassword("alice", "motdepasse"),
	} {
		var pe *userfile.PasswordError
		if !errors.As(err, &pe) {
			t.Errorf("got %v, want a PasswordError", err)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("a refused password changed the file")
	}
	if _, err := s.Authenticate("alice", pw); err != nil {
		t.Fatalf("alice's password after the refusals: %v", err)
	}
}

// Passwords set before the policy (10 or 11 characters, or common) still
// log in: the policy is for new passwords.
func TestPasswordsFromBeforeThePolicyStillLogIn(t *testing.T) {
	s, path := newStore(t)
	const old = "azerty1234" // 10 characters, common: fine in 2024
	file := fmt.Sprintf(`{"format":"dispo-users","version":1,"users":[{"id":"old","role":"analyst","establishments":[],"password":%q,"tokens":[],"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}]}`,
		userfile.Hash(userfile.CheapParams, old))
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Authenticate("old", old); err != nil || p.UserID != "old" {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if err := s.SetPassword("old", old); !errors.As(err, new(*userfile.PasswordError)) {
		t.Fatalf("setting it again: %v", err)
	}
}

func TestCredentialStamp(t *testing.T) {
	s, path := newStore(t)
	mustAdd(t, s, "alice", domain.RoleAnalyst)
	st := func() string {
		t.Helper()
		v, err := s.CredentialStamp("alice")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a := st()
	if err := s.Grant("alice", "770110054"); err == nil {
		t.Fatal("an analyst was granted")
	}
	if st() != a {
		t.Fatal("the stamp changed without a change")
	}
	other := mustOpen(t, path) // another process
	if err := other.SetPassword("alice", "a new long password"); err != nil {
		t.Fatal(err)
	}
	b := st()
	if b == a {
		t.Fatal("the stamp did not change with the password")
	}
	if err := other.SetRole("alice", domain.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	if st() == b {
		t.Fatal("the stamp did not change with the role")
	}
	if file, _ := os.ReadFile(path); strings.Contains(string(file), st()) {
		t.Fatal("the stamp is in the file")
	}
	if _, err := s.CredentialStamp("nobody"); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("nobody's stamp: %v", err)
	}
}
