package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"dispo/adapters/userfile"
	"dispo/domain"
)

func init() { userParams = userfile.CheapParams } // hashing at test speed

const userPW = "correct horse battery"

// openUsers opens the user file as the server would.
func openUsers(t *testing.T, path string) *userfile.Store {
	t.Helper()
	s, err := userfile.Open(path, userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUsersAddListTokenAndLogin(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "users.json") // the default: DATA/users.json
	code, out, errOut := dispo(t, userPW+"\n", "users", "add", "resp-77", "--data", data, "--role", "responsable",
		"--name", "Jeanne Martin", "--establishment", "770110054", "--establishment", "750000001,2A0000001")
	if code != 0 || !strings.Contains(out, "added resp-77 (responsable, habilitated for 2A0000001, 750000001, 770110054)") {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	// Flags before the identifier work too; a password line ending in \r\n is fine.
	if code, out, errOut := dispo(t, "another long password\r\nignored second line\n", "users", "add", "--data", data, "--role", "analyst", "ars@ars.sante.fr"); code != 0 {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	s := openUsers(t, path)
	p, err := s.Authenticate("resp-77", userPW)
	if err != nil || p.Role != domain.RoleResponsable || !slices.Equal(p.Establishments, []string{"2A0000001", "750000001", "770110054"}) {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if _, err := s.Authenticate("ars@ars.sante.fr", "another long password"); err != nil {
		t.Fatalf("second user: %v", err)
	}

	code, out, errOut = dispo(t, "", "users", "token", "--data", data, "ars@ars.sante.fr")
	tok := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^dispo_[A-Za-z0-9_-]{43}$`).MatchString(tok) || !strings.Contains(errOut, "shown this once") {
		t.Fatalf("token: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if p, err := s.AuthenticateToken(tok); err != nil || p.UserID != "ars@ars.sante.fr" {
		t.Fatalf("AuthenticateToken = %+v, %v", p, err)
	}

	out = mustDispo(t, "users", "list", "--data", data)
	want := "ID                ROLE         ESTABLISHMENTS                 TOKENS  NAME\n" +
		"ars@ars.sante.fr  analyst      -                              1\n" +
		"resp-77           responsable  2A0000001,750000001,770110054  0       Jeanne Martin\n"
	if out != want {
		t.Fatalf("list:\n%s\nwant:\n%s", out, want)
	}
	file, _ := os.ReadFile(path)
	for _, secret := range []string{userPW, "another long password", tok} {
		if strings.Contains(out+string(file), secret) {
			t.Fatalf("a secret is shown or stored: %q", secret)
		}
	}

	out = mustDispo(t, "users", "token", "--revoke", "ars@ars.sante.fr", "--data", data)
	if !strings.Contains(out, "revoked 1 token(s)") {
		t.Fatalf("token --revoke: %q", out)
	}
	if _, err := s.AuthenticateToken(tok); err != userfile.ErrBadCredentials {
		t.Fatalf("revoked token: %v", err)
	}
}

func TestUsersPasswdGrantRevokeRoleRemove(t *testing.T) {
	users := filepath.Join(t.TempDir(), "elsewhere", "people.json")
	if code, out, errOut := dispo(t, userPW, "users", "add", "--users", users, "u1", "--role", "professionnel"); code != 0 {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := dispo(t, "a brand new password\n", "users", "passwd", "--users", users, "u1"); code != 0 {
		t.Fatalf("passwd: %s", errOut)
	}
	s := openUsers(t, users)
	if _, err := s.Authenticate("u1", "a brand new password"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	mustDispo(t, "users", "role", "--users", users, "u1", "responsable")
	out := mustDispo(t, "users", "grant", "--users", users, "u1", "770110054", "750000001")
	if out != "u1 is habilitated for 750000001, 770110054\n" {
		t.Fatalf("grant: %q", out)
	}
	out = mustDispo(t, "users", "revoke", "--users", users, "u1", "770110054")
	if out != "u1 is habilitated for 750000001\n" {
		t.Fatalf("revoke: %q", out)
	}
	if p, _ := s.Principal("u1"); !slices.Equal(p.Establishments, []string{"750000001"}) {
		t.Fatalf("the store sees %v", p.Establishments)
	}
	mustDispo(t, "users", "remove", "--users", users, "u1")
	if _, err := s.Principal("u1"); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("removed user: %v", err)
	}
}

// $DISPO_USERS names the file when --users is not given.
func TestUsersFileFromEnvironment(t *testing.T) {
	users := filepath.Join(t.TempDir(), "from-env.json")
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(userPW), Stdout: &out, Stderr: &errOut, Now: time.Now,
		Getenv: func(k string) string {
			if k == "DISPO_USERS" {
				return users
			}
			return ""
		}}
	if code := env.run(context.Background(), []string{"users", "add", "x", "--role", "auditor"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if _, err := openUsers(t, users).Get("x"); err != nil {
		t.Fatal(err)
	}
}

// Every refusal names the problem, exits non-zero and leaves the file as it was.
func TestUsersBadInputChangesNothing(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "users.json")
	if code, _, errOut := dispo(t, userPW, "users", "add", "--data", data, "resp", "--role", "responsable", "--establishment", "770110054"); code != 0 {
		t.Fatal(errOut)
	}
	mustDispo(t, "users", "token", "--data", data, "resp")
	before, _ := os.ReadFile(path)
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"users"}, 2, "Usage: dispo users <verb>"},
		{"", []string{"users", "frobnicate"}, 2, `unknown verb "frobnicate"`},
		{userPW, []string{"users", "add", "x"}, 2, "--role is required"},
		{userPW, []string{"users", "add", "--role", "admin"}, 2, "Usage: dispo users add"},
		{userPW, []string{"users", "add", "x", "y", "--role", "admin"}, 2, "Usage: dispo users add"},
		{userPW, []string{"users", "add", "x", "--role", "admin", "--password", "secret"}, 2, "flag provided but not defined: -password"},
		{userPW, []string{"users", "add", "x", "--role", "boss"}, 1, `unknown role "boss"`},
		{userPW, []string{"users", "add", "x", "--role", "system"}, 1, `unknown role "system"`},
		{userPW, []string{"users", "add", "a b", "--role", "admin"}, 1, "invalid identifier"},
		{userPW, []string{"users", "add", "resp", "--role", "admin"}, 1, "already exists"},
		{"", []string{"users", "add", "x", "--role", "admin"}, 1, "no password on standard input"},
		{"\n" + userPW, []string{"users", "add", "x", "--role", "admin"}, 1, "no password on standard input"},
		{"short\n", []string{"users", "add", "x", "--role", "admin"}, 1, "10 to 256 characters"},
		{strings.Repeat("x", 2000), []string{"users", "add", "x", "--role", "admin"}, 1, "longer than 256"},
		{userPW, []string{"users", "add", "x", "--role", "responsable", "--establishment", "77011005"}, 1, `invalid FINESS "77011005"`},
		{userPW, []string{"users", "add", "x", "--role", "auditor", "--establishment", "770110054"}, 1, "only a responsable"},
		{userPW, []string{"users", "add", "x", "--role", "admin", "--name", "a\tb"}, 1, "invalid name"},
		{userPW, []string{"users", "passwd", "nobody"}, 1, `no user "nobody"`},
		{"short", []string{"users", "passwd", "resp"}, 1, "10 to 256 characters"},
		{"", []string{"users", "passwd"}, 2, "Usage: dispo users passwd"},
		{"", []string{"users", "grant", "resp"}, 2, "Usage: dispo users grant"},
		{"", []string{"users", "grant", "resp", "750000001", "bad"}, 1, `invalid FINESS "bad"`},
		{"", []string{"users", "grant", "nobody", "750000001"}, 1, `no user "nobody"`},
		{"", []string{"users", "revoke", "resp", "770110054", "750000001"}, 1, "not habilitated for establishment 750000001"},
		{"", []string{"users", "role", "resp", "admin"}, 1, "revoke them before"},
		{"", []string{"users", "role", "resp", "system"}, 1, "invalid role"},
		{"", []string{"users", "token", "nobody"}, 1, `no user "nobody"`},
		{"", []string{"users", "token"}, 2, "Usage: dispo users token"},
		{"", []string{"users", "remove", "nobody"}, 1, `no user "nobody"`},
		{"", []string{"users", "list", "extra"}, 2, "Usage: dispo users list"},
	} {
		args := append(tc.args, "--data", data)
		if len(tc.args) == 1 {
			args = tc.args
		}
		code, out, errOut := dispo(t, tc.stdin, args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("dispo %v: exit %d, output %q; want exit %d with %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Fatalf("dispo %v changed the file", tc.args)
		}
	}
}

func TestUsersHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"users", "--help"}, []string{"add", "passwd", "grant", "revoke", "list", "token"}},
		{[]string{"users", "help"}, []string{"Verbs:"}},
		{[]string{"users", "add", "--help"}, []string{"Usage: dispo users add ID --role ROLE", "never from a flag", "ps, /proc", "-users string", "DISPO_USERS"}},
		{[]string{"users", "passwd", "-h"}, []string{"Usage: dispo users passwd ID", "standard input"}},
		{[]string{"users", "grant", "--help"}, []string{"Usage: dispo users grant ID FINESS..."}},
		{[]string{"users", "revoke", "--help"}, []string{"Usage: dispo users revoke ID FINESS...", "nothing is withdrawn"}},
		{[]string{"users", "list", "--help"}, []string{"Usage: dispo users list", "never shown"}},
		{[]string{"users", "token", "--help"}, []string{"Usage: dispo users token ID", "Authorization: Bearer", "--revoke"}},
		{[]string{"users", "role", "--help"}, []string{"Usage: dispo users role ID ROLE"}},
		{[]string{"users", "remove", "--help"}, []string{"Usage: dispo users remove ID"}},
		{[]string{"--help"}, []string{"users", "manage logins and habilitations"}},
	} {
		code, out, errOut := dispo(t, "", tc.args...)
		for _, w := range tc.want {
			if code != 0 || !strings.Contains(out+errOut, w) {
				t.Errorf("dispo %v: exit %d, output %q; want exit 0 with %q", tc.args, code, out+errOut, w)
			}
		}
	}
}

func TestUsersListEmptyAndDamaged(t *testing.T) {
	data := t.TempDir()
	code, out, errOut := dispo(t, "", "users", "list", "--data", data)
	if code != 0 || out != "" || !strings.Contains(errOut, "no users in") {
		t.Fatalf("empty list: exit %d, %q %q", code, out, errOut)
	}
	os.WriteFile(filepath.Join(data, "users.json"), []byte("not a user file\n"), 0o600)
	for _, args := range [][]string{{"users", "list"}, {"users", "grant", "x", "770110054"}} {
		code, _, errOut := dispo(t, userPW, append(args, "--data", data)...)
		if code != 1 || !strings.Contains(errOut, "damaged or foreign file") {
			t.Errorf("dispo %v on a damaged file: exit %d, %q", args, code, errOut)
		}
	}
}

// "--" ends the flags: what follows is arguments, even if it looks like a flag.
func TestUsersDoubleDash(t *testing.T) {
	data := t.TempDir()
	if code, out, errOut := dispo(t, userPW, "users", "add", "--data", data, "--role", "admin", "--", "-odd-id"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if out := mustDispo(t, "users", "list", "--data", data); !strings.Contains(out, "-odd-id") {
		t.Fatalf("list: %q", out)
	}
}
