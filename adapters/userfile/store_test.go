package userfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dispo/adapters/userfile"
	"dispo/domain"
)

var t0 = time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC)

const pw = "correct horse battery"

// mustOpen opens a store with cheap hashing and a fixed clock.
func mustOpen(tb testing.TB, path string) *userfile.Store {
	tb.Helper()
	s, err := userfile.Open(path, userfile.Options{Now: func() time.Time { return t0 }, Params: userfile.CheapParams})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func mustAdd(tb testing.TB, s *userfile.Store, id string, role domain.Role, finess ...string) {
	tb.Helper()
	if err := s.Add(userfile.User{ID: id, Role: role, Establishments: finess}, pw); err != nil {
		tb.Fatal(err)
	}
}

func newStore(tb testing.TB) (*userfile.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "users.json")
	return mustOpen(tb, path), path
}

func code(err error) string { return domain.ErrorCode(err) }

func TestAddThenAuthenticate(t *testing.T) {
	s, _ := newStore(t)
	if err := s.Add(userfile.User{ID: "resp-770110054", Name: "Jeanne Martin", Role: domain.RoleResponsable,
		Establishments: []string{"770110054", "2A0000001", "770110054"}}, pw); err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate("resp-770110054", pw)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Principal{UserID: "resp-770110054", Role: domain.RoleResponsable, Establishments: []string{"2A0000001", "770110054"}}
	if p.UserID != want.UserID || p.Role != want.Role || !slices.Equal(p.Establishments, want.Establishments) {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if err := domain.Authorize(p, domain.ActDeclare, "770110054"); err != nil {
		t.Fatalf("principal may not declare for its establishment: %v", err)
	}
	p.Establishments[0] = "999999999" // the caller's copy
	if p2, _ := s.Principal("resp-770110054"); p2.Establishments[0] != "2A0000001" {
		t.Fatal("a principal shares its establishments with the store")
	}
	info, err := s.Get("resp-770110054")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "Jeanne Martin" || !info.CreatedAt.Equal(t0) || !info.UpdatedAt.Equal(t0) || info.Tokens != 0 {
		t.Fatalf("got %+v", info)
	}
}

// Wrong password, unknown identifier, malformed identifier and too short a
// password all give the same error value, and each but the last pays for
// one verification: the unknown identifier against the dummy hash.
func TestFailedAuthenticationIsOneErrorAndOneVerification(t *testing.T) {
	s, _ := newStore(t)
	mustAdd(t, s, "alice", domain.RoleProfessionnel)
	if _, err := s.Authenticate("alice", pw); err != nil { // makes the dummy hash
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, password string
		verifies     int64
	}{
		{"alice", pw + "!", 1},
		{"bob", pw, 1},
		{"not an id!", pw, 1},
		{"", pw, 1},
		{"alice", "short", 0},
		{"alice", strings.Repeat("x", 257), 0},
		{"alice", "\xff" + pw, 0},
	} {
		before := userfile.Verifications(s)
		p, err := s.Authenticate(tc.id, tc.password)
		if err != userfile.ErrBadCredentials || p.UserID != "" {
			t.Errorf("Authenticate(%q, %q) = %+v, %v; want ErrBadCredentials", tc.id, tc.password, p, err)
		}
		if n := userfile.Verifications(s) - before; n != tc.verifies {
			t.Errorf("Authenticate(%q, %q) made %d verifications, want %d", tc.id, tc.password, n, tc.verifies)
		}
	}
	if strings.Contains(userfile.ErrBadCredentials.Error(), "unknown") || strings.Contains(userfile.ErrBadCredentials.Error(), "wrong") {
		t.Fatalf("the error says which part failed: %q", userfile.ErrBadCredentials)
	}
}

func TestFileIsPrivateReadableAndHoldsNoSecret(t *testing.T) {
	s, path := newStore(t)
	mustAdd(t, s, "resp", domain.RoleResponsable, "770110054")
	tok, err := s.NewToken("resp")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	for _, secret := range []string{pw, tok, tok[len(userfile.TokenPrefix):]} {
		if bytes.Contains(data, []byte(secret)) {
			t.Fatalf("the file holds a secret %q:\n%s", secret, data)
		}
	}
	for _, want := range []string{`"format": "dispo-users"`, `"version": 1`, `"id": "resp"`, `"role": "responsable"`,
		`"770110054"`, `"password": "$argon2id$v=19$m=8,t=1,p=1$`, `"sha256": "`, `"created_at": "2025-03-06T15:00:00Z"`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("file lacks %s:\n%s", want, data)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only users.json (temporary files left?)", len(entries))
	}
}

func TestMissingFileIsEmptyUntilFirstWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "users.json")
	s := mustOpen(t, path)
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening created the file: %v", err)
	}
	if _, err := s.Authenticate("alice", pw); err != userfile.ErrBadCredentials {
		t.Fatalf("got %v", err)
	}
	mustAdd(t, s, "alice", domain.RoleAuditor)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	// Removing the file empties the store.
	os.Remove(path)
	if _, err := s.Authenticate("alice", pw); err != userfile.ErrBadCredentials {
		t.Fatalf("after removal: %v", err)
	}
}

// Another Store (another process: dispo users while the server runs)
// changes the file; the first sees it on its next call.
func TestReloadsWhatAnotherStoreWrote(t *testing.T) {
	a, path := newStore(t)
	b := mustOpen(t, path)
	mustAdd(t, a, "resp", domain.RoleResponsable, "770110054")
	if _, err := b.Authenticate("resp", pw); err != nil {
		t.Fatalf("b does not see a's user: %v", err)
	}
	if err := b.Grant("resp", "750000001"); err != nil {
		t.Fatal(err)
	}
	p, err := a.Principal("resp")
	if err != nil || !slices.Equal(p.Establishments, []string{"750000001", "770110054"}) {
		t.Fatalf("a sees %+v, %v", p, err)
	}
	if err := a.Revoke("resp", "770110054"); err != nil { // a reloads before writing
		t.Fatal(err)
	}
	if p, _ := b.Principal("resp"); !slices.Equal(p.Establishments, []string{"750000001"}) {
		t.Fatalf("b sees %v", p.Establishments)
	}
	tok, err := a.NewToken("resp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AuthenticateToken(tok); err != nil {
		t.Fatalf("b refuses a's token: %v", err)
	}
	if err := b.Remove("resp"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateToken(tok); err != userfile.ErrBadCredentials {
		t.Fatalf("token of a removed user: %v", err)
	}
	if _, err := a.Principal("resp"); code(err) != domain.ENotFound {
		t.Fatalf("principal of a removed user: %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	s, _ := newStore(t)
	mustAdd(t, s, "alice", domain.RoleAnalyst)
	if err := s.SetPassword("alice", "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate("alice", pw); err != userfile.ErrBadCredentials {
		t.Fatalf("old password: %v", err)
	}
	if _, err := s.Authenticate("alice", "another long password"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestTokens(t *testing.T) {
	s, _ := newStore(t)
	mustAdd(t, s, "robot", domain.RoleProfessionnel)
	tok, err := s.NewToken("robot")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^dispo_[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("token %q", tok)
	}
	tok2, _ := s.NewToken("robot")
	if tok2 == tok {
		t.Fatal("two tokens are equal")
	}
	for _, k := range []string{tok, tok2} {
		if p, err := s.AuthenticateToken(k); err != nil || p.UserID != "robot" || p.Role != domain.RoleProfessionnel {
			t.Fatalf("AuthenticateToken = %+v, %v", p, err)
		}
	}
	last := tok[len(tok)-1]
	flipped := tok[:len(tok)-1] + string("AB"[btoi(last == 'A')])
	for _, bad := range []string{"", "dispo_", flipped, tok + "A", strings.TrimPrefix(tok, "dispo_"), strings.ToUpper(tok)} {
		if _, err := s.AuthenticateToken(bad); err != userfile.ErrBadCredentials {
			t.Errorf("AuthenticateToken(%q) = %v", bad, err)
		}
	}
	if info, _ := s.Get("robot"); info.Tokens != 2 {
		t.Fatalf("Get says %d tokens", info.Tokens)
	}
	n, err := s.RevokeTokens("robot")
	if err != nil || n != 2 {
		t.Fatalf("RevokeTokens = %d, %v", n, err)
	}
	if _, err := s.AuthenticateToken(tok); err != userfile.ErrBadCredentials {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := s.NewToken("nobody"); code(err) != domain.ENotFound {
		t.Fatalf("NewToken of nobody: %v", err)
	}
	if _, err := s.RevokeTokens("nobody"); code(err) != domain.ENotFound {
		t.Fatalf("RevokeTokens of nobody: %v", err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Bad input is refused with the right code and changes nothing on disk.
func TestBadInputChangesNothing(t *testing.T) {
	s, path := newStore(t)
	mustAdd(t, s, "resp", domain.RoleResponsable, "770110054")
	mustAdd(t, s, "pro", domain.RoleProfessionnel)
	before, _ := os.ReadFile(path)
	for _, tc := range []struct {
		name, code string
		do         func() error
	}{
		{"empty id", domain.EInvalid, func() error { return s.Add(userfile.User{Role: domain.RoleAdmin}, pw) }},
		{"id with a space", domain.EInvalid, func() error { return s.Add(userfile.User{ID: "a b", Role: domain.RoleAdmin}, pw) }},
		{"id of 65", domain.EInvalid, func() error { return s.Add(userfile.User{ID: strings.Repeat("a", 65), Role: domain.RoleAdmin}, pw) }},
		{"role system", domain.EInvalid, func() error { return s.Add(userfile.User{ID: "x", Role: domain.RoleSystem}, pw) }},
		{"unknown role", domain.EInvalid, func() error { return s.Add(userfile.User{ID: "x", Role: "boss"}, pw) }},
		{"bad FINESS", domain.EInvalid, func() error {
			return s.Add(userfile.User{ID: "x", Role: domain.RoleResponsable, Establishments: []string{"77011005"}}, pw)
		}},
		{"establishment of a professionnel", domain.EInvalid, func() error {
			return s.Add(userfile.User{ID: "x", Role: domain.RoleProfessionnel, Establishments: []string{"770110054"}}, pw)
		}},
		{"control character in name", domain.EInvalid, func() error {
			return s.Add(userfile.User{ID: "x", Name: "a\nb", Role: domain.RoleAdmin}, pw)
		}},
		{"password of 9", domain.EInvalid, func() error { return s.Add(userfile.User{ID: "x", Role: domain.RoleAdmin}, "ééééééééé") }},
		{"password of 257", domain.EInvalid, func() error { return s.Add(userfile.User{ID: "x", Role: domain.RoleAdmin}, strings.Repeat("é", 257)) }},
		{"password not UTF-8", domain.EInvalid, func() error { return s.Add(userfile.User{ID: "x", Role: domain.RoleAdmin}, pw+"\xff") }},
		{"taken id", domain.EConflict, func() error { return s.Add(userfile.User{ID: "pro", Role: domain.RoleAdmin}, pw) }},
		{"passwd of nobody", domain.ENotFound, func() error { return s.SetPassword("nobody", pw) }},
		{"short passwd", domain.EInvalid, func() error { return s.SetPassword("pro", "short") }},
		{"grant to nobody", domain.ENotFound, func() error { return s.Grant("nobody", "770110054") }},
		{"grant nothing", domain.EInvalid, func() error { return s.Grant("resp") }},
		{"grant a bad FINESS", domain.EInvalid, func() error { return s.Grant("resp", "750000001", "2C0000001") }},
		{"grant to a professionnel", domain.EInvalid, func() error { return s.Grant("pro", "770110054") }},
		{"revoke one not held", domain.ENotFound, func() error { return s.Revoke("resp", "770110054", "750000001") }},
		{"revoke from nobody", domain.ENotFound, func() error { return s.Revoke("nobody", "770110054") }},
		{"role system", domain.EInvalid, func() error { return s.SetRole("pro", domain.RoleSystem) }},
		{"role of a responsable with establishments", domain.EInvalid, func() error { return s.SetRole("resp", domain.RoleAdmin) }},
		{"role of nobody", domain.ENotFound, func() error { return s.SetRole("nobody", domain.RoleAdmin) }},
		{"remove nobody", domain.ENotFound, func() error { return s.Remove("nobody") }},
	} {
		err := tc.do()
		if code(err) != tc.code {
			t.Errorf("%s: got %v, want code %s", tc.name, err, tc.code)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Fatalf("%s: the file changed", tc.name)
		}
	}
	if _, err := s.Get("x"); code(err) != domain.ENotFound {
		t.Fatalf("a refused user exists: %v", err)
	}
}

func TestRoleAndGrantRevoke(t *testing.T) {
	s, _ := newStore(t)
	mustAdd(t, s, "u", domain.RoleProfessionnel)
	if err := s.SetRole("u", domain.RoleResponsable); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant("u", "770110054", "750000001", "770110054"); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant("u", "770110054"); err != nil { // already held: kept
		t.Fatal(err)
	}
	if p, _ := s.Principal("u"); !slices.Equal(p.Establishments, []string{"750000001", "770110054"}) {
		t.Fatalf("got %v", p.Establishments)
	}
	if err := s.Revoke("u", "750000001", "770110054"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole("u", domain.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Role != domain.RoleAuditor || len(list[0].Establishments) != 0 {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestListIsSortedWithoutSecrets(t *testing.T) {
	s, _ := newStore(t)
	for _, id := range []string{"zoe", "alice", "m.dupont@ars.fr"} {
		mustAdd(t, s, id, domain.RoleAnalyst)
	}
	s.NewToken("zoe")
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range list {
		ids = append(ids, u.ID)
	}
	if !slices.Equal(ids, []string{"alice", "m.dupont@ars.fr", "zoe"}) || list[2].Tokens != 1 {
		t.Fatalf("List = %+v", list)
	}
	if s := fmt.Sprintf("%+v", list); strings.Contains(s, "argon2") {
		t.Fatalf("List shows a hash: %s", s)
	}
}

func TestDamagedOrForeignFile(t *testing.T) {
	hash := "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	user := func(fields string) string {
		return `{"format":"dispo-users","version":1,"users":[{` + fields + `}]}`
	}
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"not JSON", "not json at all"},
		{"truncated", `{"format":"dispo-users","version":1,"users":[`},
		{"another format", `{"format":"dispo-units","version":1,"users":[]}`},
		{"version 2", `{"format":"dispo-users","version":2,"users":[]}`},
		{"an array", `[]`},
		{"unknown key", `{"format":"dispo-users","version":1,"users":[],"admins":[]}`},
		{"trailing data", `{"format":"dispo-users","version":1,"users":[]} {}`},
		{"null user", `{"format":"dispo-users","version":1,"users":[null]}`},
		{"bad id", user(`"id":"a b","role":"admin","password":"` + hash + `"`)},
		{"system role", user(`"id":"a","role":"system","password":"` + hash + `"`)},
		{"no password", user(`"id":"a","role":"admin"`)},
		{"bcrypt hash", user(`"id":"a","role":"admin","password":"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"`)},
		{"huge memory", user(`"id":"a","role":"admin","password":"$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`)},
		{"bad token hash", user(`"id":"a","role":"admin","password":"` + hash + `","tokens":[{"sha256":"abc"}]}`)},
		{"unsorted establishments", user(`"id":"a","role":"responsable","password":"` + hash + `","establishments":["770110054","750000001"]`)},
		{"establishments of an admin", user(`"id":"a","role":"admin","password":"` + hash + `","establishments":["770110054"]`)},
		{"twice the same id", `{"format":"dispo-users","version":1,"users":[{"id":"a","role":"admin","password":"` + hash +
			`"},{"id":"a","role":"admin","password":"` + hash + `"}]}`},
		{"binary", "\x00\x01\x02\xff"},
	} {
		path := filepath.Join(t.TempDir(), "users.json")
		os.WriteFile(path, []byte(tc.data), 0o600)
		_, err := userfile.Open(path, userfile.Options{Params: userfile.CheapParams})
		if err == nil || !strings.Contains(err.Error(), "damaged or foreign file") {
			t.Errorf("%s: Open = %v, want a damaged or foreign file", tc.name, err)
		}
	}
	// A valid minimal file by hand is fine.
	path := filepath.Join(t.TempDir(), "users.json")
	os.WriteFile(path, []byte(user(`"id":"a","role":"admin","password":"`+hash+`"`)), 0o600)
	if _, err := userfile.Open(path, userfile.Options{Params: userfile.CheapParams}); err != nil {
		t.Fatalf("hand-written file: %v", err)
	}
	// A directory where the file should be.
	if _, err := userfile.Open(t.TempDir(), userfile.Options{}); err == nil {
		t.Fatal("a directory opened as a user file")
	}
}

// A file damaged while the server runs: every authentication fails with an
// internal error (not bad credentials) until the file is repaired.
func TestDamageWhileOpenFailsClosed(t *testing.T) {
	s, path := newStore(t)
	mustAdd(t, s, "alice", domain.RoleAdmin)
	tok, _ := s.NewToken("alice")
	good, _ := os.ReadFile(path)
	os.WriteFile(path, append(good[:len(good)/2:len(good)/2], "\n\n"...), 0o600)
	if _, err := s.Authenticate("alice", pw); err == nil || err == userfile.ErrBadCredentials || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Authenticate on a damaged file: %v", err)
	}
	if _, err := s.AuthenticateToken(tok); err == nil || err == userfile.ErrBadCredentials {
		t.Fatalf("AuthenticateToken on a damaged file: %v", err)
	}
	if err := s.Grant("alice", "770110054"); err == nil || code(err) != domain.EInternal {
		t.Fatalf("Grant on a damaged file: %v", err)
	}
	os.WriteFile(path, good, 0o600)
	if _, err := s.Authenticate("alice", pw); err != nil {
		t.Fatalf("after repair: %v", err)
	}
}

// Run with -race: authentications read while changes write.
func TestConcurrentAuthenticateDuringWrites(t *testing.T) {
	s, path := newStore(t)
	mustAdd(t, s, "resp", domain.RoleResponsable, "770110054")
	tok, _ := s.NewToken("resp")
	other := mustOpen(t, path) // another process, as far as the file goes
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 100)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p, err := s.Authenticate("resp", pw); err != nil || p.UserID != "resp" {
					errs <- fmt.Errorf("Authenticate: %+v, %v", p, err)
					return
				}
				if _, err := s.AuthenticateToken(tok); err != nil {
					errs <- fmt.Errorf("AuthenticateToken: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 30; i++ {
		store := s
		if i%2 == 1 {
			store = other
		}
		f := fmt.Sprintf("7500000%02d", i)
		if err := store.Grant("resp", f); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := store.Revoke("resp", f); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p, _ := s.Principal("resp"); len(p.Establishments) != 1+20 {
		t.Fatalf("%d establishments, want 21", len(p.Establishments))
	}
}

func TestDefaultHashFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("one real hash")
	}
	s, path := newStore(t)
	def, err := userfile.Open(path, userfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, def, "alice", domain.RoleAdmin)
	data, _ := os.ReadFile(path)
	if !regexp.MustCompile(`"\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}"`).Match(data) {
		t.Fatalf("no default PHC hash in\n%s", data)
	}
	// A store with other parameters verifies with the hash's own.
	if _, err := s.Authenticate("alice", pw); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkHash(b *testing.B) {
	s, _ := newStore(b)
	def, err := userfile.Open(s.Path(), userfile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	mustAdd(b, def, "alice", domain.RoleAdmin)
	b.ResetTimer()
	for b.Loop() {
		if _, err := def.Authenticate("alice", pw); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAnAdministratorsPasswordIsChangedOnce(t *testing.T) {
	s, path := newStore(t)
	if err := s.Add(userfile.User{ID: "nouvelle", Role: domain.RoleProfessionnel, MustChangePassword: true}, pw); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, "ancien", domain.RoleProfessionnel)
	reopened := mustOpen(t, path)
	for id, want := range map[string]bool{"nouvelle": true, "ancien": false} {
		if got, err := reopened.MustChangePassword(id); err != nil || got != want {
			t.Errorf("MustChangePassword(%s) = %v, %v after reopening; want %v", id, got, err, want)
		}
	}
	if _, err := reopened.MustChangePassword("personne"); code(err) != domain.ENotFound {
		t.Errorf("unknown user: %v", err)
	}
	before, _ := reopened.CredentialStamp("nouvelle")
	if err := reopened.ChangePassword("nouvelle", "pas le bon", "une phrase toute fraîche"); !errors.Is(err, userfile.ErrBadCredentials) {
		t.Fatalf("a wrong current password: %v", err)
	}
	if err := reopened.ChangePassword("nouvelle", pw, pw); code(err) != domain.EInvalid {
		t.Fatalf("the same password again: %v", err)
	}
	if err := reopened.ChangePassword("nouvelle", pw, "password123456"); code(err) != domain.EInvalid {
		t.Fatalf("a common password: %v", err)
	}
	if err := reopened.ChangePassword("nouvelle", pw, "une phrase toute fraîche"); err != nil {
		t.Fatal(err)
	}
	if must, _ := mustOpen(t, path).MustChangePassword("nouvelle"); must {
		t.Fatal("the change did not clear MustChangePassword")
	}
	if _, err := s.Authenticate("nouvelle", pw); !errors.Is(err, userfile.ErrBadCredentials) {
		t.Fatalf("the old password still authenticates: %v", err)
	}
	if after, _ := s.CredentialStamp("nouvelle"); after == before {
		t.Fatal("the credential stamp did not change: sessions would outlive the change")
	}
}

// A program's account (bed-management software) is a responsable that
// carries the national code of what it is: its principal says so, another
// store reads it from the file, and a code or role that cannot be a
// program's is refused without changing the file.
func TestProgramAccountCarriesItsCapacitySource(t *testing.T) {
	s, path := newStore(t)
	if err := s.Add(userfile.User{ID: "gam-77", Role: domain.RoleResponsable, Establishments: []string{"770110054"},
		CapacitySource: domain.CapacitySourceGAM}, pw); err != nil {
		t.Fatal(err)
	}
	tok, err := s.NewToken("gam-77")
	if err != nil {
		t.Fatal(err)
	}
	other := mustOpen(t, path)
	for name, st := range map[string]*userfile.Store{"same store": s, "another store": other} {
		p, err := st.AuthenticateToken(tok)
		if err != nil || p.CapacitySource != domain.CapacitySourceGAM || p.Role != domain.RoleResponsable {
			t.Fatalf("%s: principal %+v, %v; want a responsable with capacity source 03", name, p, err)
		}
		if info, err := st.Get("gam-77"); err != nil || info.CapacitySource != domain.CapacitySourceGAM {
			t.Fatalf("%s: Get = %+v, %v", name, info, err)
		}
	}
	mustAdd(t, s, "alice", domain.RoleResponsable, "770110054")
	if p, err := s.Authenticate("alice", pw); err != nil || p.CapacitySource != "" {
		t.Fatalf("a person's principal %+v, %v; want no capacity source", p, err)
	}

	before, _ := os.ReadFile(path)
	for _, u := range []userfile.User{
		{ID: "p1", Role: domain.RoleResponsable, CapacitySource: domain.CapacitySourceManual}, // a person's code
		{ID: "p2", Role: domain.RoleResponsable, CapacitySource: "05"},
		{ID: "p3", Role: domain.RoleProfessionnel, CapacitySource: domain.CapacitySourceBedManagement},
	} {
		if err := s.Add(u, pw); code(err) != domain.EInvalid {
			t.Errorf("Add %+v: %v, want %s", u, err, domain.EInvalid)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a refused Add rewrote the user file")
	}
	if err := s.Add(userfile.User{ID: "gam-new", Role: domain.RoleResponsable, CapacitySource: domain.CapacitySourceBedManagement}, pw); err != nil {
		t.Fatal(err)
	}
	before, _ = os.ReadFile(path)
	if err := s.SetRole("gam-new", domain.RoleProfessionnel); code(err) != domain.EInvalid {
		t.Errorf("SetRole of a program's account (no establishment yet) to professionnel: %v, want %s", err, domain.EInvalid)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a refused change rewrote the user file")
	}
}
