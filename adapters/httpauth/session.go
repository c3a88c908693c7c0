package httpauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// session is a login in memory. Values of it handed out are snapshots.
type session struct {
	userID  string
	stamp   string // the user's credential stamp at login (see Stamper)
	csrf    string
	created time.Time
	seen    time.Time // last authenticated request
	ttl     time.Duration
	idle    time.Duration
}

// expires is when the session ends if no request comes.
func (s session) expires() time.Time {
	abs, idle := s.created.Add(s.ttl), s.seen.Add(s.idle)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

type sessionID = [32]byte // SHA-256 of the cookie value

// cookieLen is the length of a session cookie's value.
var cookieLen = base64.RawURLEncoding.EncodedLen(32)

type sessions struct {
	ttl, idle time.Duration
	perUser   int

	mu        sync.Mutex
	byID      map[sessionID]*session
	byUser    map[string]map[sessionID]struct{}
	lastSweep time.Time
}

func newSessions(ttl, idle time.Duration, perUser int) *sessions {
	return &sessions{ttl: ttl, idle: idle, perUser: perUser,
		byID: map[sessionID]*session{}, byUser: map[string]map[sessionID]struct{}{}}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session of userID and returns its cookie value.
func (st *sessions) create(userID, stamp string, now time.Time) (string, session) {
	cookie := randomToken()
	s := &session{userID: userID, stamp: stamp, csrf: randomToken(), created: now, seen: now, ttl: st.ttl, idle: st.idle}
	id := sha256.Sum256([]byte(cookie))
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Sub(st.lastSweep) >= time.Minute {
		st.sweepLocked(now)
	}
	mine := st.byUser[userID]
	if mine == nil {
		mine = map[sessionID]struct{}{}
		st.byUser[userID] = mine
	}
	for len(mine) >= st.perUser { // end the least recently used
		var lru sessionID
		var at time.Time
		first := true
		for k := range mine {
			if o := st.byID[k]; first || o.seen.Before(at) {
				lru, at, first = k, o.seen, false
			}
		}
		st.removeLocked(lru)
	}
	st.byID[id] = s
	mine[id] = struct{}{}
	return cookie, *s
}

// get returns the session of a cookie value, if it has not ended.
func (st *sessions) get(cookie string, now time.Time) (session, bool) {
	if len(cookie) != cookieLen {
		return session{}, false
	}
	id := sha256.Sum256([]byte(cookie))
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.byID[id]
	if s == nil {
		return session{}, false
	}
	if !now.Before(s.expires()) {
		st.removeLocked(id)
		return session{}, false
	}
	return *s, true
}

// touch slides the idle deadline of a session and returns it; false if it
// ended meanwhile.
func (st *sessions) touch(cookie string, now time.Time) (session, bool) {
	id := sha256.Sum256([]byte(cookie))
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.byID[id]
	if s == nil {
		return session{}, false
	}
	if now.After(s.seen) {
		s.seen = now
	}
	return *s, true
}

// remove ends the session of a cookie value, if any.
func (st *sessions) remove(cookie string) {
	id := sha256.Sum256([]byte(cookie))
	st.mu.Lock()
	defer st.mu.Unlock()
	st.removeLocked(id)
}

func (st *sessions) removeLocked(id sessionID) {
	s := st.byID[id]
	if s == nil {
		return
	}
	delete(st.byID, id)
	mine := st.byUser[s.userID]
	delete(mine, id)
	if len(mine) == 0 {
		delete(st.byUser, s.userID)
	}
}

// endUser ends every session of userID and returns how many there were.
func (st *sessions) endUser(userID string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	mine := st.byUser[userID]
	n := len(mine)
	for id := range mine {
		st.removeLocked(id)
	}
	return n
}

func (st *sessions) sweep(now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked(now)
}

func (st *sessions) sweepLocked(now time.Time) {
	st.lastSweep = now
	for id, s := range st.byID {
		if !now.Before(s.expires()) {
			st.removeLocked(id)
		}
	}
}

// count returns the number of sessions held, ended or not.
func (st *sessions) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byID)
}
