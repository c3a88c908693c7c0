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

// throttle counts failed logins per identifier and per client address in a
// sliding window. See the package documentation.
type throttle struct {
	mu         sync.Mutex
	ids, addrs table
}

// table holds, per key, the times of the failures still in the window,
// oldest first, at most max of them.
type table struct {
	max    int
	window time.Duration
	m      map[string][]time.Time
}

func newThrottle(window time.Duration, perID, perAddr int) *throttle {
	return &throttle{
		ids:   table{max: perID, window: window, m: map[string][]time.Time{}},
		addrs: table{max: perAddr, window: window, m: map[string][]time.Time{}},
	}
}

// begin records an attempt as a failure, unless the identifier or the
// address is at its limit: then it records nothing and returns how long to
// wait. An empty key is not limited.
func (t *throttle) begin(id, addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wait := max(t.ids.wait(id, now), t.addrs.wait(addr, now)); wait > 0 {
		return wait
	}
	t.ids.add(id, now)
	t.addrs.add(addr, now)
	return 0
}

// succeeded turns the attempt begun at into a success: the identifier's
// failures are forgotten, the address keeps its others.
func (t *throttle) succeeded(id, addr string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ids.m, id)
	t.addrs.removeOne(addr, at)
}

// cancel forgets the attempt begun at: it neither failed nor succeeded.
func (t *throttle) cancel(id, addr string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ids.removeOne(id, at)
	t.addrs.removeOne(addr, at)
}

func (t *throttle) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tb := range []*table{&t.ids, &t.addrs} {
		for k := range tb.m {
			tb.prune(k, now)
		}
	}
}

// prune drops the failures of key that left the window and returns the rest.
func (tb *table) prune(key string, now time.Time) []time.Time {
	fs := tb.m[key]
	i := 0
	for i < len(fs) && !fs[i].Add(tb.window).After(now) {
		i++
	}
	if i == 0 {
		return fs
	}
	if i == len(fs) {
		delete(tb.m, key)
		return nil
	}
	fs = fs[i:]
	tb.m[key] = fs
	return fs
}

func (tb *table) wait(key string, now time.Time) time.Duration {
	if key == "" {
		return 0
	}
	fs := tb.prune(key, now)
	if len(fs) < tb.max {
		return 0
	}
	return fs[len(fs)-tb.max].Add(tb.window).Sub(now)
}

func (tb *table) add(key string, now time.Time) {
	if key == "" {
		return
	}
	fs, ok := tb.m[key]
	if !ok && len(tb.m) >= maxKeys {
		tb.evict(now)
	}
	fs = append(fs, now)
	if len(fs) > tb.max {
		fs = slices.Clone(fs[len(fs)-tb.max:])
	}
	tb.m[key] = fs
}

func (tb *table) removeOne(key string, at time.Time) {
	fs := tb.m[key]
	if i := slices.IndexFunc(fs, at.Equal); i >= 0 {
		fs = slices.Delete(fs, i, i+1)
		if len(fs) == 0 {
			delete(tb.m, key)
		} else {
			tb.m[key] = fs
		}
	}
}

// evict makes room: keys whose failures all left the window go first; if
// that is not enough, the keys whose last failure is oldest, down to 90%.
func (tb *table) evict(now time.Time) {
	for k := range tb.m {
		tb.prune(k, now)
	}
	if len(tb.m) < maxKeys {
		return
	}
	type entry struct {
		key  string
		last time.Time
	}
	all := make([]entry, 0, len(tb.m))
	for k, fs := range tb.m {
		all = append(all, entry{k, fs[len(fs)-1]})
	}
	slices.SortFunc(all, func(a, b entry) int { return a.last.Compare(b.last) })
	for _, e := range all[:len(all)-maxKeys*9/10] {
		delete(tb.m, e.key)
	}
}

// clientAddr returns the throttling key of the request's client: its IP
// address, IPv6 grouped by /64.
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
