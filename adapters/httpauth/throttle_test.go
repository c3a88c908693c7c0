package httpauth_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dispo/adapters/httpauth"
)

func retryAfter(t *testing.T, res resp) int {
	t.Helper()
	n, err := strconv.Atoi(res.header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("Retry-After %q", res.header.Get("Retry-After"))
	}
	return n
}

func expectThrottled(t *testing.T, what string, res resp, retry int) {
	t.Helper()
	expect(t, what, res, http.StatusTooManyRequests, httpauth.CodeLoginThrottled)
	if got := retryAfter(t, res); got != retry {
		t.Fatalf("%s: Retry-After %d, want %d", what, got, retry)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	if !strings.Contains(res.body, "réessayez dans") {
		t.Fatalf("%s: detail %s", what, res.body)
	}
}

// loginWith logs in from address xff with the device cookie device.
func (f *fixture) loginWith(xff, device, id, password string) resp {
	f.t.Helper()
	return f.do(req{method: "POST", path: "/api/v1/session", body: loginBody(id, password), xff: xff, device: device})
}

// deviceOf logs id in from xff and returns the device cookie it earns.
func (f *fixture) deviceOf(xff, id string) string {
	f.t.Helper()
	res := f.loginFrom(xff, id, pw)
	expect(f.t, "login for a device cookie", res, http.StatusCreated, "")
	return namedCookie(f.t, res, httpauth.DeviceCookieName).Value
}

func proxied(c *httpauth.Config) { c.TrustProxy = true }

// Free failures, then delays that double from 1 s to the cap, measured
// from the last failure; a refused attempt checks no password and does not
// prolong the delay.
func TestThrottleDelaysDoubleUpToTheCap(t *testing.T) {
	f := newFixture(t, false, proxied)
	for i := range 5 {
		expect(t, "free failure", f.loginFrom(fmt.Sprintf("192.0.2.%d", i), "alice", "wrong password"), 401, "unauthorized")
	}
	// Even the right password, from an address that never failed: the
	// identifier waits, and the password is not checked.
	before := f.guesses.Load()
	expectThrottled(t, "sixth at once", f.loginFrom("198.51.100.1", "alice", "a guess"), 1)
	if f.guesses.Load() != before {
		t.Fatal("a refused attempt checked the password")
	}
	want := 1
	f.clock.Advance(time.Second)
	for range 12 {
		expect(t, "failure after the delay", f.loginFrom("192.0.2.9", "alice", "wrong password"), 401, "")
		want = min(2*want, 900)
		expectThrottled(t, "right after", f.loginFrom("192.0.2.9", "alice", "wrong password"), want)
		f.clock.Advance(time.Duration(want-1) * time.Second)
		expectThrottled(t, "a second before", f.loginFrom("192.0.2.10", "alice", pw), 1)
		f.clock.Advance(time.Second)
	}
	if want != 900 {
		t.Fatalf("the delay reached %d s, want the cap 900 s", want)
	}
	// Other identifiers are not affected.
	expect(t, "bob", f.loginFrom("192.0.2.9", "bob", pw), 201, "")
	// An identifier that cannot exist is slowed the same.
	for i := range 5 {
		f.loginFrom(fmt.Sprintf("203.0.113.%d", i), "nobody", pw)
	}
	expectThrottled(t, "unknown identifier", f.loginFrom("198.51.100.2", "nobody", pw), 1)
	if n := f.failures.Load(); n != 5+12+5 {
		t.Fatalf("%d failures counted, want 22 (refused attempts are not failures)", n)
	}
	// An hour after the last failure the identifier is forgotten.
	f.clock.Advance(time.Hour)
	expect(t, "an hour later", f.loginFrom("198.51.100.1", "alice", pw), 201, "")
}

// The figure of the package documentation: against one account, from any
// number of addresses, at most 17 password guesses in any hour (4 an hour
// once the delays reached their cap), while the user, on a browser where
// she logged in before, logs in from a fresh address at any time.
//
// The attacker is optimal: all delays are whole seconds and it tries every
// second, so it tries at the first instant each delay allows; it starts
// with 50 concurrent attempts; it uses 1000 addresses in turn, each failing
// far less than an address's 20 free failures.
func TestThrottleBoundsGuessesPerAccount(t *testing.T) {
	f := newFixture(t, false, proxied)
	device := f.deviceOf("192.0.2.1", "alice") // yesterday, at the hospital
	f.clock.Advance(24 * time.Hour)
	f.guesses.Store(0)

	addr := 0
	next := func() string { addr++; return fmt.Sprintf("10.%d.%d.%d", addr%1000/250, addr%250, 7) }
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		xff := next()
		go func() { defer wg.Done(); f.loginFrom(xff, "alice", "guess at once") }()
	}
	wg.Wait()
	if n := f.guesses.Load(); n != 5 {
		t.Fatalf("50 concurrent attempts: %d guesses checked, want the 5 free ones", n)
	}
	hour := func() int64 {
		start := f.guesses.Load()
		for s := range 3600 {
			for range 3 {
				res := f.loginFrom(next(), "alice", fmt.Sprintf("guess %d", s))
				if res.status != 401 && res.status != 429 {
					t.Fatalf("attack at %d s: %d %s", s, res.status, res.body)
				}
			}
			if s%600 == 300 { // the user, from home this time
				res := f.loginWith("198.51.100.77", device, "alice", pw)
				expect(t, fmt.Sprintf("the user at %d s into the attack", s), res, 201, "")
				device = namedCookie(t, res, httpauth.DeviceCookieName).Value
			}
			f.clock.Advance(time.Second)
		}
		return f.guesses.Load() - start
	}
	// 5 free at 0 s, then after delays of 1, 2, 4 ... 512 s, at 1, 3, 7,
	// 15, 31, 63, 127, 255, 511 and 1023 s, then every 900 s: 1923, 2823.
	if n := 5 + hour(); n != 17 {
		t.Fatalf("first hour: %d guesses checked, want 17", n)
	}
	// Then at 3723, 4623, 5523 and 6423 s.
	if n := hour(); n != 4 {
		t.Fatalf("second hour: %d guesses checked, want 4", n)
	}
	// The honest price: on a browser that never logged in as alice, she
	// waits like the attacker, at most the cap. An administrator can let
	// her in at once (dispo users unlock).
	res := f.loginFrom("198.51.100.78", "alice", pw)
	if res.status != 429 || retryAfter(t, res) > 900 {
		t.Fatalf("a new browser during the attack: %d, Retry-After %s", res.status, res.header.Get("Retry-After"))
	}
	if n := f.auth.Unlock("alice"); n != 1 {
		t.Fatalf("Unlock dropped %d keys, want 1", n)
	}
	expect(t, "after unlock", f.loginFrom("198.51.100.78", "alice", pw), 201, "")
}

// A device cookie is worth only for the identifier it was earned with,
// before it expires, and unforged.
func TestDeviceCookies(t *testing.T) {
	f := newFixture(t, false, proxied)
	res := f.loginFrom("192.0.2.1", "bob", pw)
	c := namedCookie(t, res, httpauth.DeviceCookieName)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/session" || c.MaxAge != 30*24*3600 {
		t.Fatalf("device cookie %+v", c)
	}
	bobs := c.Value
	for i := range 5 {
		f.loginFrom(fmt.Sprintf("192.0.2.%d", 10+i), "alice", "wrong password")
	}
	forged := []byte(bobs)
	forged[10] ^= 1
	for name, dev := range map[string]string{"bob's cookie": bobs, "a forged one": string(forged), "garbage": "x"} {
		expectThrottled(t, "alice with "+name, f.loginWith("198.51.100.1", dev, "alice", pw), 1)
	}
	// The device's own failures: 5 free, then it waits, alone.
	for range 5 {
		expect(t, "bob mistyping", f.loginWith("192.0.2.1", bobs, "bob", "wrong password"), 401, "")
	}
	expectThrottled(t, "bob's device", f.loginWith("192.0.2.1", bobs, "bob", pw), 1)
	expect(t, "bob elsewhere", f.loginFrom("192.0.2.2", "bob", pw), 201, "")
	f.clock.Advance(time.Second)
	expect(t, "bob's device after the delay", f.loginWith("192.0.2.1", bobs, "bob", pw), 201, "")
	// The success cleared the device's failures: five more free ones.
	for range 5 {
		expect(t, "bob mistyping again", f.loginWith("192.0.2.1", bobs, "bob", "wrong password"), 401, "")
	}
	// An expired cookie is a stranger's: the identifier's throttle applies.
	f.clock.Advance(31 * 24 * time.Hour)
	for i := range 5 {
		f.loginFrom(fmt.Sprintf("192.0.2.%d", 30+i), "bob", "wrong password")
	}
	expectThrottled(t, "an expired device cookie", f.loginWith("192.0.2.1", bobs, "bob", pw), 1)
}

// An address slows down after 20 free failures, whatever the identifiers,
// and never waits more than a minute: a hospital's staff behind one NAT
// can always log in. With the device cookie, the address's delay does not
// apply at all.
func TestThrottlePerAddress(t *testing.T) {
	f := newFixture(t, false, nil) // X-Forwarded-For not trusted: every attempt is from 127.0.0.1
	device := f.deviceOf("", "alice")
	for i := range 20 {
		expect(t, "free", f.login(fmt.Sprintf("user%d", i), "wrong password"), 401, "")
	}
	expectThrottled(t, "21st", f.login("bob", pw), 1)
	expect(t, "alice with her device cookie", f.loginWith("", device, "alice", pw), 201, "")
	for i := range 10 {
		f.clock.Advance(time.Minute)
		expect(t, "after the delay", f.login(fmt.Sprintf("other%d", i), "wrong password"), 401, "")
	}
	expectThrottled(t, "capped", f.login("bob", pw), 60)
	f.clock.Advance(time.Minute)
	expect(t, "a minute later", f.login("bob", pw), 201, "")
}

// IPv6 addresses of one /64 are one client; IPv4-mapped IPv6 is IPv4.
func TestThrottleGroupsIPv6By64(t *testing.T) {
	f := newFixture(t, false, func(c *httpauth.Config) { c.TrustProxy, c.MaxFailuresPerAddress = true, 2 })
	f.loginFrom("2001:db8:1:2::1", "u1", "wrong password")
	f.loginFrom("2001:db8:1:2:ffff:ffff:ffff:ffff", "u2", "wrong password")
	expectThrottled(t, "same /64", f.loginFrom("2001:db8:1:2:abcd::9", "bob", pw), 1)
	expect(t, "next /64", f.loginFrom("2001:db8:1:3::1", "bob", pw), 201, "")
	f.loginFrom("192.0.2.7", "u1", "wrong password")
	f.loginFrom("::ffff:192.0.2.7", "u2", "wrong password")
	expectThrottled(t, "IPv4-mapped", f.loginFrom("192.0.2.7", "bob", pw), 1)
	expect(t, "another IPv4 address", f.loginFrom("192.0.2.8", "bob", pw), 201, "")
	// The last X-Forwarded-For entry is the one the proxy added.
	expect(t, "spoofed first entry", f.loginFrom("192.0.2.7, 192.0.2.9", "bob", pw), 201, "")
}
