package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"dispo/adapters/adminsock"
	"dispo/adapters/httpauth"
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
		{"short\n", []string{"users", "add", "x", "--role", "admin"}, 1, "au moins 12 caractères (il en a 5)"},
		{"eleven char\n", []string{"users", "add", "x", "--role", "admin"}, 1, "au moins 12 caractères (il en a 11)"},
		{"motdepasse2024\n", []string{"users", "add", "x", "--role", "admin"}, 1, "parmi les plus courants"},
		{"Azertyuiop123\n", []string{"users", "add", "x", "--role", "admin"}, 1, "parmi les plus courants"},
		{"hello xavier-77 ok\n", []string{"users", "add", "xavier-77", "--role", "admin"}, 1, "ne doit pas contenir l'identifiant"},
		{strings.Repeat("x", 2000), []string{"users", "add", "x", "--role", "admin"}, 1, "longer than 256"},
		{userPW, []string{"users", "add", "x", "--role", "responsable", "--establishment", "77011005"}, 1, `invalid FINESS "77011005"`},
		{userPW, []string{"users", "add", "x", "--role", "auditor", "--establishment", "770110054"}, 1, "only a responsable"},
		{userPW, []string{"users", "add", "x", "--role", "admin", "--name", "a\tb"}, 1, "invalid name"},
		{userPW, []string{"users", "passwd", "nobody"}, 1, `no user "nobody"`},
		{"short", []string{"users", "passwd", "resp"}, 1, "au moins 12 caractères"},
		{"soleil123456", []string{"users", "passwd", "resp"}, 1, "un mot de passe courant entouré de chiffres"},
		{"my resp password", []string{"users", "passwd", "resp"}, 1, "ne doit pas contenir l'identifiant (resp)"},
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
		{[]string{"users", "--help"}, []string{"add", "passwd", "grant", "revoke", "list", "token", "logout", "unlock"}},
		{[]string{"users", "help"}, []string{"Verbs:"}},
		{[]string{"users", "add", "--help"}, []string{"Usage: dispo users add ID --role ROLE", "never from a flag", "ps, /proc", "-users string", "DISPO_USERS"}},
		{[]string{"users", "passwd", "-h"}, []string{"Usage: dispo users passwd ID", "standard input"}},
		{[]string{"users", "grant", "--help"}, []string{"Usage: dispo users grant ID FINESS..."}},
		{[]string{"users", "revoke", "--help"}, []string{"Usage: dispo users revoke ID FINESS...", "nothing is withdrawn"}},
		{[]string{"users", "list", "--help"}, []string{"Usage: dispo users list", "never shown"}},
		{[]string{"users", "token", "--help"}, []string{"Usage: dispo users token ID", "Authorization: Bearer", "--revoke"}},
		{[]string{"users", "role", "--help"}, []string{"Usage: dispo users role ID ROLE"}},
		{[]string{"users", "remove", "--help"}, []string{"Usage: dispo users remove ID"}},
		{[]string{"users", "logout", "--help"}, []string{"Usage: dispo users logout ID", "DATA/admin.sock", "memory only"}},
		{[]string{"users", "unlock", "--help"}, []string{"Usage: dispo users unlock ID", "DATA/admin.sock"}},
		{[]string{"users", "passwd", "--help"}, []string{"ends its sessions"}},
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

// testServer serves logins on the user file of DATA with the real
// httpauth and its admin socket in DATA, as dispo serve does.
type testServer struct {
	t   *testing.T
	url string
}

// shortDataDir is a data directory whose admin socket path fits the unix
// limit whatever the test's name and $TMPDIR.
func shortDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "du")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startTestServer(t *testing.T, data string) *testServer {
	t.Helper()
	store := openUsers(t, filepath.Join(data, "users.json"))
	auth := httpauth.New(httpauth.Config{Users: store, TrustProxy: true})
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/session", auth.LoginHandler())
	mux.Handle("GET /api/v1/session", auth.MeHandler())
	srv := httptest.NewServer(auth.Middleware(mux))
	t.Cleanup(srv.Close)
	admin := http.NewServeMux()
	auth.AdminRoutes(admin)
	sock, err := adminsock.Start(adminsock.PathIn(data), admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	return &testServer{t, srv.URL}
}

// login returns the status of a login of id from address xff, and its
// session cookie.
func (s *testServer) login(xff, id, password string) (int, string) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"identifier": id, "password": password})
	req, _ := http.NewRequest("POST", s.url+"/api/v1/session", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", xff)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == httpauth.CookieName {
			return res.StatusCode, c.Value
		}
	}
	return res.StatusCode, ""
}

// session returns the status of GET /api/v1/session with cookie.
func (s *testServer) session(cookie string) int {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/api/v1/session", nil)
	req.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (s *testServer) mustLogin(id, password string) string {
	s.t.Helper()
	code, cookie := s.login("192.0.2.1", id, password)
	if code != http.StatusCreated {
		s.t.Fatalf("login %s: %d", id, code)
	}
	return cookie
}

func TestUsersLogoutUnlockPasswdRoleOnARunningServer(t *testing.T) {
	data := shortDataDir(t)
	if code, _, errOut := dispo(t, userPW, "users", "add", "--data", data, "alice", "--role", "professionnel", "--keep-password"); code != 0 {
		t.Fatal(errOut)
	}
	srv := startTestServer(t, data)

	c1, c2 := srv.mustLogin("alice", userPW), srv.mustLogin("alice", userPW)
	if out := mustDispo(t, "users", "logout", "alice", "--data", data); out != "alice : 2 sessions terminées\n" {
		t.Fatalf("logout: %q", out)
	}
	if a, b := srv.session(c1), srv.session(c2); a != 401 || b != 401 {
		t.Fatalf("sessions after logout: %d %d", a, b)
	}
	if out := mustDispo(t, "users", "logout", "alice", "--data", data); out != "alice : aucune session en cours\n" {
		t.Fatalf("logout again: %q", out)
	}

	// passwd and role end the sessions through the socket, and say so.
	c1 = srv.mustLogin("alice", userPW)
	code, out, errOut := dispo(t, "a brand new password\n", "users", "passwd", "alice", "--data", data)
	if code != 0 || out != "changed the password of alice\nalice : 1 session terminée sur le serveur en marche\n" {
		t.Fatalf("passwd: exit %d, %q %q", code, out, errOut)
	}
	if srv.session(c1) != 401 {
		t.Fatal("a session outlived passwd")
	}
	c1 = srv.mustLogin("alice", "a brand new password")
	if out := mustDispo(t, "users", "role", "alice", "auditor", "--data", data); out != "alice is auditor\nalice : 1 session terminée sur le serveur en marche\n" {
		t.Fatalf("role: %q", out)
	}
	if srv.session(c1) != 401 {
		t.Fatal("a session outlived role")
	}

	// Guessed from elsewhere, alice waits; unlock lets her in at once.
	for i := range 5 {
		srv.login(fmt.Sprintf("203.0.113.%d", i), "alice", "wrong password")
	}
	if code, _ := srv.login("198.51.100.1", "alice", "a brand new password"); code != http.StatusTooManyRequests {
		t.Fatalf("alice under attack: %d, want 429", code)
	}
	if out := mustDispo(t, "users", "unlock", "alice", "--data", data); !strings.Contains(out, "alice peut se connecter à nouveau tout de suite") {
		t.Fatalf("unlock: %q", out)
	}
	if code, _ := srv.login("198.51.100.1", "alice", "a brand new password"); code != http.StatusCreated {
		t.Fatalf("alice after unlock: %d", code)
	}
	if out := mustDispo(t, "users", "unlock", "alice", "--data", data); out != "alice n'était pas ralenti : rien à effacer\n" {
		t.Fatalf("unlock again: %q", out)
	}
}

// With no server on DATA, logout and unlock say there is nothing to end;
// passwd and role change the file and say nothing of sessions.
func TestUsersLogoutUnlockOffline(t *testing.T) {
	data := shortDataDir(t)
	if code, _, errOut := dispo(t, userPW, "users", "add", "--data", data, "alice", "--role", "professionnel", "--keep-password"); code != 0 {
		t.Fatal(errOut)
	}
	out := mustDispo(t, "users", "logout", "alice", "--data", data)
	if !strings.Contains(out, "aucun serveur ne tourne sur "+data) || !strings.Contains(out, "aucune à terminer") {
		t.Fatalf("logout offline: %q", out)
	}
	out = mustDispo(t, "users", "unlock", "alice", "--data", data)
	if !strings.Contains(out, "aucun serveur ne tourne") || !strings.Contains(out, "rien à effacer") {
		t.Fatalf("unlock offline: %q", out)
	}
	// A socket left by a killed server is no server either.
	ln, err := net.Listen("unix", adminsock.PathIn(data))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if out := mustDispo(t, "users", "logout", "alice", "--data", data); !strings.Contains(out, "aucun serveur ne tourne") {
		t.Fatalf("logout on a stale socket: %q", out)
	}
	if code, out, errOut := dispo(t, "a brand new password\n", "users", "passwd", "alice", "--data", data); code != 0 || out != "changed the password of alice\n" || errOut != "" {
		t.Fatalf("passwd offline: exit %d, %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"users", "logout", "nobody"}, 1, `no user "nobody"`},
		{[]string{"users", "unlock", "nobody"}, 1, `no user "nobody"`},
		{[]string{"users", "unlock", "a b"}, 1, "invalid identifier"},
		{[]string{"users", "logout"}, 2, "Usage: dispo users logout ID"},
		{[]string{"users", "unlock", "alice", "bob"}, 2, "Usage: dispo users unlock ID"},
	} {
		code, out, errOut := dispo(t, "", append(tc.args, "--data", data)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("dispo %v: exit %d, %q; want exit %d with %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
	}
}

func TestUsersAddAsksForOwnPasswordAndDisplayLinks(t *testing.T) {
	data := t.TempDir()
	out := mustDispoIn(t, userPW+"\n", "users", "add", "clin", "--data", data, "--role", "professionnel")
	if !strings.Contains(out, "clin chooses their own password at their first login on the web pages (/compte)") {
		t.Fatalf("add: %q", out)
	}
	mustDispoIn(t, userPW+"\n", "users", "add", "robot", "--data", data, "--role", "analyst", "--keep-password")
	s := openUsers(t, filepath.Join(data, "users.json"))
	for id, want := range map[string]bool{"clin": true, "robot": false} {
		if got, err := s.MustChangePassword(id); err != nil || got != want {
			t.Errorf("MustChangePassword(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	code, out, errOut := dispo(t, "", "users", "token", "clin", "--display", "--data", data)
	link := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(link, "/affichage/dispo_") || !strings.Contains(errOut, "--revoke ends it") {
		t.Fatalf("display link: exit %d %q %q", code, out, errOut)
	}
	if p, err := s.AuthenticateToken(strings.TrimPrefix(link, "/affichage/")); err != nil || p.UserID != "clin" {
		t.Fatalf("the link's token: %+v, %v", p, err)
	}
	code, out, errOut = dispo(t, "", "users", "token", "robot", "--display", "--data", data)
	if code == 0 || out != "" || !strings.Contains(errOut, "a display link is for a professionnel account") {
		t.Fatalf("a display link for an analyst: exit %d %q %q", code, out, errOut)
	}
	if n, _ := s.RevokeTokens("robot"); n != 0 {
		t.Fatalf("the refused display link issued %d token(s)", n)
	}
}

// A program's account: a responsable that keeps its password and whose
// declarations carry its capacity source (02 unless said); the flags that
// cannot go together are refused and create nothing.
func TestUsersAddProgramAccount(t *testing.T) {
	data := t.TempDir()
	out := mustDispoIn(t, userPW+"\n", "users", "add", "gam", "--data", data, "--role", "responsable", "--establishment", "770110054", "--program")
	if !strings.Contains(out, "capacity source 02") || !strings.Contains(out, "dispo users token gam") {
		t.Fatalf("add --program: %q", out)
	}
	mustDispoIn(t, userPW+"\n", "users", "add", "dpi", "--data", data, "--role", "responsable", "--program", "--capacity-source", "04")
	s := openUsers(t, filepath.Join(data, "users.json"))
	for id, want := range map[string]string{"gam": "02", "dpi": "04"} {
		info, err := s.Get(id)
		if err != nil || info.CapacitySource != want || info.MustChangePassword {
			t.Errorf("%s: %+v, %v; want capacity source %s and its password kept", id, info, err, want)
		}
	}
	if list := mustDispoIn(t, "", "users", "list", "--data", data); !strings.Contains(list, "responsable (program 04)") {
		t.Errorf("list does not tell a program's account: %q", list)
	}
	for _, args := range [][]string{
		{"x1", "--role", "professionnel", "--program"},
		{"x2", "--role", "responsable", "--capacity-source", "03"},
		{"x3", "--role", "responsable", "--program", "--capacity-source", "01"},
	} {
		code, _, errOut := dispo(t, userPW+"\n", append([]string{"users", "add", "--data", data}, args...)...)
		if code == 0 || errOut == "" {
			t.Errorf("users add %v: exit %d %q, want refused", args, code, errOut)
		}
		if _, err := s.Get(args[0]); err == nil {
			t.Errorf("users add %v was refused but created %s", args, args[0])
		}
	}
}
