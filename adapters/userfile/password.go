package userfile

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the cost parameters of argon2id for new password hashes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes
}

// DefaultParams cost 19 MiB and two passes on one lane: OWASP's first
// recommended argon2id setting. Measured on the 2-core development machine
// (go1.26, amd64, BenchmarkHash): 31 to 48 ms per hash, the spread being the
// load of other builds on the machine. Each login in progress holds 19 MiB
// for that long (httpauth bounds the logins in progress).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// CheapParams make a hash cost microseconds. For tests only: THIS IS UNSAFE
// for real passwords, which it would leave open to offline guessing.
var CheapParams = Params{Memory: 8, Time: 1, Threads: 1}

const (
	saltLen = 16 // part of the format: new hashes; older ones may differ
	keyLen  = 32

	// Bounds on the parameters read from a file, so that a hand-edited
	// hash cannot make a login allocate gigabytes or loop for minutes.
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxThreads = 64

	// MinPasswordLen and MaxPasswordLen bound a new password, in
	// characters (see CheckPassword).
	MinPasswordLen = 12
	MaxPasswordLen = 256
	// minStoredLen is the shortest password ever stored: the minimum was 10
	// before the policy, and those passwords still log in.
	minStoredLen = 10
)

var b64 = base64.RawStdEncoding.Strict()

func (p Params) check() error {
	if p.Threads < 1 || p.Threads > maxThreads || p.Time < 1 || p.Time > maxTime ||
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return fmt.Errorf("argon2id parameters m=%d,t=%d,p=%d out of bounds", p.Memory, p.Time, p.Threads)
	}
	return nil
}

// hash returns the PHC string of argon2id over password with a fresh salt.
func (p Params) hash(password string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand, Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return encodePHC(p, salt, key)
}

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parsePHC splits an argon2id PHC string into its parameters, salt and key.
// Only the canonical form encodePHC writes is accepted.
func parsePHC(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New(`password hash is not of the form "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH"`)
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("argon2id version %q is not v=%d", parts[2], argon2.Version)
	}
	var m, t, th uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || th > maxThreads ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) {
		return p, nil, nil, fmt.Errorf("argon2id parameters %q are not of the form m=M,t=T,p=P", parts[3])
	}
	p = Params{Memory: m, Time: t, Threads: uint8(th)}
	if err := p.check(); err != nil {
		return p, nil, nil, err
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, errors.New("argon2id salt is not 8 to 64 bytes of unpadded base64")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("argon2id hash is not 16 to 64 bytes of unpadded base64")
	}
	return p, salt, key, nil
}

// verify reports whether password matches the PHC string encoded, in time
// that depends on the hash's parameters only.
func (s *Store) verify(encoded, password string) bool {
	s.verifications.Add(1)
	p, salt, key, err := parsePHC(encoded)
	if err != nil {
		return false // never happens: hashes are checked when the file is read
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}
