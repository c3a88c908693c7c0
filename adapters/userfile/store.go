package userfile

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dispo/domain"
)

// ErrBadCredentials is the one error of a failed authentication, whatever
// failed: unknown identifier, wrong password or unknown token. It is not a
// *domain.Error: the HTTP layer answers it with 401 unauthorized.
var ErrBadCredentials = errors.New("userfile: invalid identifier or password")

// TokenPrefix starts every bearer token, so that a leaked one is easy to
// recognise (secret scanners, logs).
const TokenPrefix = "dispo_"

// tokenLen is the length of a printed token: the prefix and 32 bytes in
// unpadded base64url.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// User is what an administrator states about a login.
type User struct {
	ID             string
	Name           string // optional display name
	Role           domain.Role
	Establishments []string // FINESS; only for RoleResponsable
	// MustChangePassword: the password is one an administrator chose; the
	// person must choose their own at the next login (the web page /compte).
	MustChangePassword bool
	// CapacitySource, for the account of a program that declares
	// (bed-management software feeding the directory): the national code
	// of what it is (domain.CapacitySourceBedManagement, GAM or DPI),
	// recorded with its declarations. "" for a person.
	CapacitySource string
}

// UserInfo is a user as List and Get show it: no secrets.
type UserInfo struct {
	User
	Tokens               int // bearer tokens in force
	CreatedAt, UpdatedAt time.Time
}

// Options configure a Store.
type Options struct {
	Now    func() time.Time // clock of created/updated times; default time.Now
	Params Params           // argon2id cost of new hashes; zero means DefaultParams
}

// Store is the user file. See the package documentation.
type Store struct {
	path   string
	now    func() time.Time
	params Params

	mu     sync.Mutex
	users  map[string]*record // published: neither the map nor a record is modified
	tokens []tokenEntry       // index of users' token hashes
	stat   os.FileInfo        // the file as last read or written; nil if it did not exist

	dummyOnce     sync.Once
	dummy         string       // hash verified against for unknown identifiers
	verifications atomic.Int64 // password verifications, for tests
}

type tokenEntry struct {
	sum [32]byte
	id  string
}

// Open returns the store of the file at path, reading it if it exists.
// A damaged or foreign file is an error.
func Open(path string, opts Options) (*Store, error) {
	s := &Store{path: path, now: opts.Now, params: opts.Params}
	if s.now == nil {
		s.now = time.Now
	}
	if s.params == (Params{}) {
		s.params = DefaultParams
	}
	if err := s.params.check(); err != nil {
		return nil, fmt.Errorf("userfile: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// refreshLocked reloads the file if it changed since last read or written.
// On failure the store keeps its state and the next call tries again.
func (s *Store) refreshLocked() error {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if s.users == nil || s.stat != nil {
			s.publish(map[string]*record{}, nil)
		}
		return nil
	case err != nil:
		return fmt.Errorf("userfile: %w", err)
	case s.stat != nil && os.SameFile(fi, s.stat) && fi.ModTime().Equal(s.stat.ModTime()) && fi.Size() == s.stat.Size():
		return nil
	}
	data, fi, err := readFile(s.path)
	if errors.Is(err, fs.ErrNotExist) { // removed since the stat
		s.publish(map[string]*record{}, nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("userfile: %w", err)
	}
	users, err := decode(data)
	if err != nil {
		return fmt.Errorf("userfile: %s: damaged or foreign file: %v", s.path, err)
	}
	s.publish(users, fi)
	return nil
}

func (s *Store) publish(users map[string]*record, fi os.FileInfo) {
	s.users, s.stat = users, fi
	s.tokens = s.tokens[:0:0]
	for _, r := range users {
		for _, t := range r.Tokens {
			var e tokenEntry
			hex.Decode(e.sum[:], []byte(t.SHA256)) // checked by decode or NewToken
			e.id = r.ID
			s.tokens = append(s.tokens, e)
		}
	}
}

// lookup returns the current record of id, nil if there is none.
func (s *Store) lookup(id string) (*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return nil, err
	}
	return s.users[id], nil
}

func (r *record) principal() domain.Principal {
	return domain.Principal{UserID: r.ID, Role: r.Role, Establishments: slices.Clone(r.Establishments), CapacitySource: r.CapacitySource}
}

func (r *record) info() UserInfo {
	return UserInfo{
		User: User{ID: r.ID, Name: r.Name, Role: r.Role, Establishments: slices.Clone(r.Establishments), MustChangePassword: r.MustChange,
			CapacitySource: r.CapacitySource},
		Tokens:    len(r.Tokens),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// Authenticate returns the principal of id if password is its password, or
// ErrBadCredentials. An unknown identifier costs one hash verification too
// (against a dummy hash), so that timing does not tell whether it exists.
// Other errors are internal: the file cannot be read.
func (s *Store) Authenticate(id, password string) (domain.Principal, error) {
	s.dummyOnce.Do(func() { s.dummy = s.params.hash(rand.Text()) })
	if checkStored(password) != nil {
		return domain.Principal{}, ErrBadCredentials // no such password was ever stored
	}
	r, err := s.lookup(id)
	if err != nil {
		return domain.Principal{}, err
	}
	hash := s.dummy
	if r != nil {
		hash = r.Password
	}
	if ok := s.verify(hash, password); !ok || r == nil {
		return domain.Principal{}, ErrBadCredentials
	}
	return r.principal(), nil
}

// AuthenticateToken returns the principal of the user token was issued to,
// or ErrBadCredentials. Every stored hash is compared in constant time, with
// no early exit.
func (s *Store) AuthenticateToken(token string) (domain.Principal, error) {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return domain.Principal{}, ErrBadCredentials
	}
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return domain.Principal{}, err
	}
	id := ""
	for _, e := range s.tokens {
		if subtle.ConstantTimeCompare(e.sum[:], sum[:]) == 1 {
			id = e.id
		}
	}
	r := s.users[id]
	if r == nil {
		return domain.Principal{}, ErrBadCredentials
	}
	return r.principal(), nil
}

// Principal returns the current principal of id, so that a session sees
// changes of role and habilitations at once. Returns ENotFound if the user
// does not exist (any more).
func (s *Store) Principal(id string) (domain.Principal, error) {
	r, err := s.lookup(id)
	if err != nil {
		return domain.Principal{}, err
	}
	if r == nil {
		return domain.Principal{}, notFound(id)
	}
	return r.principal(), nil
}

// CredentialStamp returns a value that changes whenever the password or
// the role of id changes, by this process or another: a session that
// remembers it at login can tell it must end. It reveals nothing of the
// hash. Returns ENotFound if the user does not exist.
func (s *Store) CredentialStamp(id string) (string, error) {
	r, err := s.lookup(id)
	if err != nil {
		return "", err
	}
	if r == nil {
		return "", notFound(id)
	}
	sum := sha256.Sum256([]byte("dispo credential stamp\x00" + r.Password + "\x00" + string(r.Role)))
	return hex.EncodeToString(sum[:16]), nil
}

// Get returns the user id, without secrets. Returns ENotFound if it does not exist.
func (s *Store) Get(id string) (UserInfo, error) {
	r, err := s.lookup(id)
	if err != nil {
		return UserInfo{}, err
	}
	if r == nil {
		return UserInfo{}, notFound(id)
	}
	return r.info(), nil
}

// List returns every user, sorted by id, without secrets.
func (s *Store) List() ([]UserInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return nil, err
	}
	list := make([]UserInfo, 0, len(s.users))
	for _, r := range s.users {
		list = append(list, r.info())
	}
	slices.SortFunc(list, func(a, b UserInfo) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}

func notFound(id string) error {
	return domain.Errorf(domain.ENotFound, "no user %q", id)
}

func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Second) }

// change reloads the file, lets f change a copy of the users, checks the
// records f returns and writes the file. If anything fails, nothing changes.
func (s *Store) change(f func(users map[string]*record) ([]*record, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return err
	}
	users := maps.Clone(s.users)
	changed, err := f(users)
	if err != nil {
		return err
	}
	for _, r := range changed {
		if err := r.check(); err != nil {
			return err
		}
	}
	data, err := encode(users)
	if err != nil {
		return fmt.Errorf("userfile: %w", err)
	}
	fi, err := writeFile(s.path, data)
	if err != nil {
		return fmt.Errorf("userfile: writing %s: %w", s.path, err)
	}
	s.publish(users, fi)
	return nil
}

// edit applies f to a copy of user id's record and stores it.
func (s *Store) edit(id string, f func(r *record) error) error {
	return s.change(func(users map[string]*record) ([]*record, error) {
		old := users[id]
		if old == nil {
			return nil, notFound(id)
		}
		r := old.clone()
		if err := f(r); err != nil {
			return nil, err
		}
		r.UpdatedAt = s.stamp()
		users[id] = r
		return []*record{r}, nil
	})
}

// normalize returns finess sorted without repeats, never nil.
func normalize(finess []string) []string {
	out := slices.Clone(finess)
	slices.Sort(out)
	return append([]string{}, slices.Compact(out)...)
}

// Add creates user u with password. Returns EInvalid for a bad identifier,
// role, name or FINESS (establishments only for a responsable), a
// *PasswordError (EInvalid) for a password the policy refuses (see
// CheckPassword), EConflict if the identifier is taken.
func (s *Store) Add(u User, password string) error {
	r := &record{ID: u.ID, Name: u.Name, Role: u.Role, Establishments: normalize(u.Establishments), Tokens: []tokenJSON{},
		MustChange: u.MustChangePassword, CapacitySource: u.CapacitySource}
	if err := r.checkFields(); err != nil {
		return err
	}
	if len(r.Establishments) > 0 && r.Role != domain.RoleResponsable {
		return domain.Errorf(domain.EInvalid, "user %s is %s: only a responsable holds establishments", r.ID, r.Role)
	}
	if err := CheckPassword(r.ID, password); err != nil {
		return err
	}
	r.Password = s.params.hash(password)
	r.CreatedAt = s.stamp()
	r.UpdatedAt = r.CreatedAt
	return s.change(func(users map[string]*record) ([]*record, error) {
		if users[r.ID] != nil {
			return nil, domain.Errorf(domain.EConflict, "user %q already exists", r.ID)
		}
		users[r.ID] = r
		return []*record{r}, nil
	})
}

// SetPassword replaces the password of id. Returns a *PasswordError
// (EInvalid) for a password the policy refuses (see CheckPassword),
// ENotFound for an unknown user. Tokens in force stay; sessions end at
// their next request, as the user's CredentialStamp changed.
func (s *Store) SetPassword(id, password string) error {
	if err := CheckPassword(id, password); err != nil {
		return err
	}
	if _, err := s.Get(id); err != nil { // before paying for the hash
		return err
	}
	hash := s.params.hash(password)
	return s.edit(id, func(r *record) error { r.Password = hash; return nil })
}

// ChangePassword is a person choosing their own password: current must be
// their password (else ErrBadCredentials), next one the policy accepts (a
// *PasswordError otherwise) and not current (EInvalid). It clears
// MustChangePassword; sessions end at their next request, as SetPassword's.
func (s *Store) ChangePassword(id, current, next string) error {
	r, err := s.lookup(id)
	if err != nil {
		return err
	}
	if r == nil {
		return ErrBadCredentials
	}
	verified := r.Password
	if !s.verify(verified, current) {
		return ErrBadCredentials
	}
	if next == current {
		return domain.FieldErrorf(domain.EInvalid, "password", "le nouveau mot de passe doit différer de l'actuel")
	}
	if err := CheckPassword(id, next); err != nil {
		return err
	}
	hash := s.params.hash(next)
	return s.edit(id, func(r *record) error {
		// An administrator's reset in between must not be undone.
		if r.Password != verified {
			return domain.Errorf(domain.EConflict, "le mot de passe de %s a été changé entre-temps : reconnectez-vous avec le nouveau", id)
		}
		r.Password, r.MustChange = hash, false
		return nil
	})
}

// MustChangePassword reports whether id's password is one an
// administrator chose (see User.MustChangePassword); ENotFound for an
// unknown user.
func (s *Store) MustChangePassword(id string) (bool, error) {
	r, err := s.lookup(id)
	if err != nil {
		return false, err
	}
	if r == nil {
		return false, notFound(id)
	}
	return r.MustChange, nil
}

// SetRole changes the role of id. Returns EInvalid for an unknown role or
// system, or when a user leaving the responsable role still holds
// establishments (revoke them first: nothing is dropped silently);
// ENotFound for an unknown user.
func (s *Store) SetRole(id string, role domain.Role) error {
	if err := checkRole(role); err != nil {
		return err
	}
	return s.edit(id, func(r *record) error {
		if role != domain.RoleResponsable && len(r.Establishments) > 0 {
			return domain.Errorf(domain.EInvalid, "user %s still holds establishments %s: revoke them before making it %s",
				id, strings.Join(r.Establishments, ", "), role)
		}
		if role != domain.RoleResponsable && r.CapacitySource != "" {
			return domain.Errorf(domain.EInvalid, "user %s is a program's account that declares: it stays a responsable (remove it and add another)", id)
		}
		r.Role = role
		return nil
	})
}

// Grant habilitates id for establishments finess (already held ones are
// kept). Returns EInvalid for a bad FINESS, none given, or a user who is not
// a responsable; ENotFound for an unknown user.
func (s *Store) Grant(id string, finess ...string) error {
	if len(finess) == 0 {
		return domain.Errorf(domain.EInvalid, "no establishment to grant")
	}
	if err := checkFINESS(finess); err != nil {
		return err
	}
	return s.edit(id, func(r *record) error {
		if r.Role != domain.RoleResponsable {
			return domain.Errorf(domain.EInvalid, "user %s is %s: only a responsable is habilitated for establishments", id, r.Role)
		}
		r.Establishments = normalize(append(r.Establishments, finess...))
		return nil
	})
}

// Revoke withdraws the habilitations of id for finess. Returns EInvalid for
// a bad FINESS or none given, ENotFound for an unknown user or an
// establishment it is not habilitated for (then nothing is revoked).
func (s *Store) Revoke(id string, finess ...string) error {
	if len(finess) == 0 {
		return domain.Errorf(domain.EInvalid, "no establishment to revoke")
	}
	if err := checkFINESS(finess); err != nil {
		return err
	}
	return s.edit(id, func(r *record) error {
		for _, f := range finess {
			if !slices.Contains(r.Establishments, f) {
				return domain.Errorf(domain.ENotFound, "user %s is not habilitated for establishment %s", id, f)
			}
		}
		r.Establishments = slices.DeleteFunc(r.Establishments, func(f string) bool { return slices.Contains(finess, f) })
		return nil
	})
}

// NewToken issues a bearer token to id and returns it: it is printed once,
// only its SHA-256 is kept. Returns ENotFound for an unknown user, EConflict
// when the user already has the maximum of 32 tokens.
func (s *Store) NewToken(id string) (string, error) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(token))
	err := s.edit(id, func(r *record) error {
		if len(r.Tokens) >= maxTokens {
			return domain.Errorf(domain.EConflict, "user %s already has %d tokens: revoke them first", id, maxTokens)
		}
		r.Tokens = append(r.Tokens, tokenJSON{SHA256: hex.EncodeToString(sum[:]), CreatedAt: s.stamp()})
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RevokeTokens withdraws every bearer token of id and returns how many there
// were. Returns ENotFound for an unknown user.
func (s *Store) RevokeTokens(id string) (int, error) {
	n := 0
	err := s.edit(id, func(r *record) error {
		n = len(r.Tokens)
		r.Tokens = []tokenJSON{}
		return nil
	})
	return n, err
}

// Remove deletes user id with its tokens. Returns ENotFound if it does not exist.
func (s *Store) Remove(id string) error {
	return s.change(func(users map[string]*record) ([]*record, error) {
		if users[id] == nil {
			return nil, notFound(id)
		}
		delete(users, id)
		return nil, nil
	})
}
