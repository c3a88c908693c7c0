package userfile

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"dispo/domain"
)

const (
	formatName    = "dispo-users" // part of the format, do not change
	formatVersion = 1             // part of the format

	maxFileSize = 16 << 20 // far beyond any real directory of users
	maxNameLen  = 128      // characters
	maxTokens   = 32       // per user
)

// fileJSON is the whole file.
type fileJSON struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Users   []*record `json:"users"`
}

// record is one user as the file holds it. Records are never modified once
// published in a Store: a change copies the record.
type record struct {
	ID             string      `json:"id"`
	Name           string      `json:"name,omitempty"`
	Role           domain.Role `json:"role"`
	Establishments []string    `json:"establishments"`
	Password       string      `json:"password"`
	// MustChange: the password was set by an administrator; its owner
	// chooses their own at the next login.
	MustChange bool `json:"must_change_password,omitempty"`
	// CapacitySource marks a program's account (bed-management software):
	// the national code its declarations carry. Absent for a person.
	CapacitySource string      `json:"capacity_source,omitempty"`
	Tokens         []tokenJSON `json:"tokens"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

type tokenJSON struct {
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidID reports whether id can be a login identifier: 1 to 64 of
// A-Z a-z 0-9 . _ @ -.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-') {
			return false
		}
	}
	return true
}

func checkID(id string) error {
	if !ValidID(id) {
		return domain.Errorf(domain.EInvalid, "invalid identifier %q: 1 to 64 of A-Z a-z 0-9 . _ @ -", id)
	}
	return nil
}

func checkRole(r domain.Role) error {
	if !domain.ValidRole(r) || r == domain.RoleSystem {
		return domain.Errorf(domain.EInvalid, "invalid role %q: one of %s, %s, %s, %s, %s", r,
			domain.RoleResponsable, domain.RoleProfessionnel, domain.RoleAnalyst, domain.RoleAuditor, domain.RoleAdmin)
	}
	return nil
}

func checkName(name string) error {
	if !domain.ValidText(name) || utf8.RuneCountInString(name) > maxNameLen {
		return domain.Errorf(domain.EInvalid, "invalid name %q: at most %d characters of text, no control characters", name, maxNameLen)
	}
	return nil
}

func checkFINESS(finess []string) error {
	for _, f := range finess {
		if !domain.ValidFINESS(f) {
			return domain.Errorf(domain.EInvalid, "invalid FINESS %q: 9 digits (2A/2B allowed for Corsica)", f)
		}
	}
	return nil
}

// checkFields checks what an administrator states of a user.
func (r *record) checkFields() error {
	if err := checkID(r.ID); err != nil {
		return err
	}
	if err := checkName(r.Name); err != nil {
		return err
	}
	if err := checkRole(r.Role); err != nil {
		return err
	}
	if r.CapacitySource != "" {
		if !domain.ValidCapacitySource(r.CapacitySource) || r.CapacitySource == domain.CapacitySourceManual {
			return domain.FieldErrorf(domain.EInvalid, "capacity_source", "user %s: capacity source %q: a program's is 02 (bed management), 03 (GAM) or 04 (DPI)", r.ID, r.CapacitySource)
		}
		if r.Role != domain.RoleResponsable {
			return domain.Errorf(domain.EInvalid, "user %s is %s: only a responsable's account can be a program's that declares", r.ID, r.Role)
		}
	}
	return checkFINESS(r.Establishments)
}

// check applies every rule of the format to r.
func (r *record) check() error {
	if err := r.checkFields(); err != nil {
		return err
	}
	if !slices.IsSorted(r.Establishments) || len(slices.Compact(slices.Clone(r.Establishments))) != len(r.Establishments) {
		return domain.Errorf(domain.EInvalid, "establishments of %s are not sorted without repeats", r.ID)
	}
	if len(r.Establishments) > 0 && r.Role != domain.RoleResponsable {
		return domain.Errorf(domain.EInvalid, "user %s is %s: only a responsable holds establishments", r.ID, r.Role)
	}
	if _, _, _, err := parsePHC(r.Password); err != nil {
		return domain.Errorf(domain.EInvalid, "user %s: %v", r.ID, err)
	}
	if len(r.Tokens) > maxTokens {
		return domain.Errorf(domain.EInvalid, "user %s has more than %d tokens", r.ID, maxTokens)
	}
	for _, t := range append([]time.Time{r.CreatedAt, r.UpdatedAt}, tokenTimes(r.Tokens)...) {
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return domain.Errorf(domain.EInvalid, "user %s: time %s is out of range", r.ID, t)
		}
	}
	for _, t := range r.Tokens {
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != 32 || strings.ToLower(t.SHA256) != t.SHA256 {
			return domain.Errorf(domain.EInvalid, "user %s: token hash %q is not 64 lowercase hex digits", r.ID, t.SHA256)
		}
	}
	return nil
}

func tokenTimes(ts []tokenJSON) []time.Time {
	var out []time.Time
	for _, t := range ts {
		out = append(out, t.CreatedAt)
	}
	return out
}

// clone returns a deep copy of r.
func (r *record) clone() *record {
	c := *r
	c.Establishments = slices.Clone(r.Establishments)
	c.Tokens = slices.Clone(r.Tokens)
	return &c
}

// decode parses and checks a whole file.
func decode(data []byte) (map[string]*record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileJSON
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if f.Format != formatName || f.Version != formatVersion {
		return nil, fmt.Errorf("format %q version %d, want %q version %d", f.Format, f.Version, formatName, formatVersion)
	}
	users := make(map[string]*record, len(f.Users))
	seenToken := map[string]string{}
	for i, r := range f.Users {
		if r == nil {
			return nil, fmt.Errorf("user %d is null", i+1)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("user %d: %s", i+1, domain.ErrorMessage(err))
		}
		if _, dup := users[r.ID]; dup {
			return nil, fmt.Errorf("user %d: identifier %q appears twice", i+1, r.ID)
		}
		for _, t := range r.Tokens {
			if other, dup := seenToken[t.SHA256]; dup {
				return nil, fmt.Errorf("user %d: token hash %s is also held by %s", i+1, t.SHA256, other)
			}
			seenToken[t.SHA256] = r.ID
		}
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		for j := range r.Tokens {
			r.Tokens[j].CreatedAt = r.Tokens[j].CreatedAt.UTC()
		}
		if r.Establishments == nil {
			r.Establishments = []string{}
		}
		if r.Tokens == nil {
			r.Tokens = []tokenJSON{}
		}
		users[r.ID] = r
	}
	return users, nil
}

// encode writes users as a file, sorted by id.
func encode(users map[string]*record) ([]byte, error) {
	f := fileJSON{Format: formatName, Version: formatVersion, Users: make([]*record, 0, len(users))}
	for _, r := range users {
		f.Users = append(f.Users, r)
	}
	slices.SortFunc(f.Users, func(a, b *record) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readFile reads path whole, with the file's information, or ErrNotExist.
func readFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("userfile: %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("userfile: %s: damaged or foreign file: larger than %d bytes", path, maxFileSize)
	}
	return data, fi, nil
}

// writeFile replaces path by data atomically: a temporary file in the same
// directory, synced, renamed over path, then the directory synced. The
// directory is created if missing. It returns the information of the new
// file, taken before the rename so that it is ours even if another process
// replaces the file at once.
func writeFile(path string, data []byte) (os.FileInfo, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	var fi os.FileInfo
	if err == nil {
		fi, err = tmp.Stat()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return nil, err
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return nil, err
		}
	}
	return fi, nil
}
