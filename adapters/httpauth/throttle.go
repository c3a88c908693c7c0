package httpauth

import (
	"cmp"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxKeys bounds each table of the throttle.
const maxKeys = 10000

// policy is how one table slows a key down: free failures, then each
// failure makes the next attempt wait base, 2×base, 4×base... up to max.
// A key is forgotten memory after its last failure.
type policy struct {
	free       int
	base, max  time.Duration
	memory     time.Duration
	evictKnown bool // false: entries of existing users go last (see evict)
}

// delay is how long after its last failure a key with n failures waits.
func (p policy) delay(n int) time.Duration {
	if n < p.free {
		return 0
	}
	if shift := n - p.free; shift < 40 {
		if d := p.base << shift; d > 0 && d < p.max {
			return d
		}
	}
	return p.max
}

// entry is one key's failures. Refused attempts change nothing: an
// attacker cannot prolong a delay by knocking during it.
type entry struct {
	failures int
	last     time.Time // of the latest failure
	known    bool      // the identifier is a user's (ids table only)
}

type table struct {
	policy
	m map[string]*entry
}

func newTable(p policy) table { return table{policy: p, m: map[string]*entry{}} }

// get returns the entry of key, nil if it has none or it expired.
func (tb *table) get(key string, now time.Time) *entry {
	e := tb.m[key]
	if e != nil && now.Sub(e.last) >= tb.memory {
		delete(tb.m, key)
		return nil
	}
	return e
}

func (tb *table) wait(key string, now time.Time) time.Duration {
	e := tb.get(key, now)
	if key == "" || e == nil {
		return 0
	}
	return max(0, e.last.Add(tb.delay(e.failures)).Sub(now))
}

func (tb *table) fail(key string, now time.Time, known bool) {
	if key == "" {
		return
	}
	e := tb.get(key, now)
	if e == nil {
		if len(tb.m) >= maxKeys {
			tb.evict(now)
		}
		e = &entry{}
		tb.m[key] = e
	}
	e.failures++
	e.known = e.known || known
	if now.After(e.last) {
		e.last = now
	}
}

// undo takes back one failure recorded at the start of an attempt that did
// not fail. Its time stays: the next attempt may wait a little longer than
// needed, never less.
func (tb *table) undo(key string) {
	if e := tb.m[key]; e != nil {
		if e.failures--; e.failures <= 0 {
			delete(tb.m, key)
		}
	}
}

func (tb *table) sweep(now time.Time) {
	for k := range tb.m {
		tb.get(k, now)
	}
}

// evict makes room: expired keys go first; if that is not enough, down to
// 90% of maxKeys, the keys with the fewest failures, oldest first, and in the
// identifier table the identifiers of no user before any user's. Dropping a
// key gives it its free failures back, so the keys an attack is slowing are
// the last to go: to evict a user's key an attacker would have to fill the
// table with other users' keys, and there are not that many users.
func (tb *table) evict(now time.Time) {
	tb.sweep(now)
	if len(tb.m) < maxKeys {
		return
	}
	type kv struct {
		key string
		e   *entry
	}
	all := make([]kv, 0, len(tb.m))
	for k, e := range tb.m {
		all = append(all, kv{k, e})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.e.known != b.e.known && !tb.evictKnown {
			if a.e.known {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.e.failures, b.e.failures), a.e.last.Compare(b.e.last))
	})
	for _, x := range all[:len(all)-maxKeys*9/10] {
		delete(tb.m, x.key)
	}
}

// throttle slows down password guessing. See the package documentation.
type throttle struct {
	mu sync.Mutex
	// ids counts the failures of attempts without a device cookie, per
	// identifier whatever the address; addrs the same attempts per client
	// address; devices the attempts with a device cookie, per identifier
	// and device.
	ids, addrs, devices table
}

func newThrottle(perID, perAddr policy) *throttle {
	perAddr.evictKnown = true
	devices := perID
	devices.evictKnown = true
	return &throttle{ids: newTable(perID), addrs: newTable(perAddr), devices: newTable(devices)}
}

// attempt names the keys a login attempt counts against.
type attempt struct {
	id     string // "" for an identifier that cannot exist
	known  bool   // id is a user's
	addr   string
	device string // the device cookie's id if it is valid for id, else ""
}

func (a attempt) deviceKey() string { return a.id + "\x00" + a.device }

// begin records the attempt as a failure, unless one of its keys must
// wait: then it records nothing and returns how long. An attempt counts
// from its start, so that concurrent attempts cannot overrun the limits.
func (t *throttle) begin(a attempt, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.device != "" {
		// A device that once logged in as id: neither the attacks on the
		// identifier from elsewhere nor the address's failures hold it up.
		if wait := t.devices.wait(a.deviceKey(), now); wait > 0 {
			return wait
		}
		t.devices.fail(a.deviceKey(), now, true)
		return 0
	}
	if wait := max(t.ids.wait(a.id, now), t.addrs.wait(a.addr, now)); wait > 0 {
		return wait
	}
	t.ids.fail(a.id, now, a.known)
	t.addrs.fail(a.addr, now, false)
	return 0
}

// succeeded turns the attempt into a success. A device's failures are
// forgotten. The identifier's and the address's keep their others: only
// the attacker's failures are left there, and clearing them at each login
// of the real user would give the attacker his free failures back.
func (t *throttle) succeeded(a attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.device != "" {
		delete(t.devices.m, a.deviceKey())
		return
	}
	t.ids.undo(a.id)
	t.addrs.undo(a.addr)
}

// cancel forgets the attempt: it neither failed nor succeeded.
func (t *throttle) cancel(a attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.device != "" {
		t.devices.undo(a.deviceKey())
		return
	}
	t.ids.undo(a.id)
	t.addrs.undo(a.addr)
}

// unlock forgets the failures of identifier id, from everywhere and on
// every device, and returns how many keys it dropped.
func (t *throttle) unlock(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	if _, ok := t.ids.m[id]; ok {
		delete(t.ids.m, id)
		n++
	}
	for k := range t.devices.m {
		if strings.HasPrefix(k, id+"\x00") {
			delete(t.devices.m, k)
			n++
		}
	}
	return n
}

func (t *throttle) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ids.sweep(now)
	t.addrs.sweep(now)
	t.devices.sweep(now)
}

// clientAddr returns the throttling key of the request's client: its IPv4
// address, or the /64 prefix of its IPv6 address (one subscriber's network:
// a host picks any address in it).
func (a *Auth) clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	if a.cfg.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			entries := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(entries[len(entries)-1]); last != "" {
				host = last
			}
		}
	}
	return addrKey(host)
}

// addrKey is the throttling key of a host as written in a request.
func addrKey(host string) string {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return cmp.Or(truncate(host, 64), "unknown")
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
