package httpauth

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC)

var (
	testPerID   = policy{free: 5, base: time.Second, max: 15 * time.Minute, memory: time.Hour}
	testPerAddr = policy{free: 20, base: time.Second, max: time.Minute, memory: time.Hour}
)

// A spray of identifiers from many addresses keeps each table bounded, and
// the key of a user under attack is not the one dropped to make room.
func TestThrottleMemoryIsBounded(t *testing.T) {
	th := newThrottle(testPerID, testPerAddr)
	victim := attempt{id: "alice", known: true, addr: "198.51.100.1"}
	for i := range 10 {
		th.begin(victim, t0.Add(time.Duration(i)*time.Hour/60))
	}
	for i := range 3 * maxKeys {
		th.begin(attempt{id: fmt.Sprintf("user%d", i), addr: fmt.Sprintf("192.0.%d.%d", i/256%256, i%256)}, t0.Add(time.Duration(i)*time.Millisecond))
	}
	for i := range 3 * maxKeys { // also many failures each, for identifiers of no user
		for range 20 {
			th.ids.fail(fmt.Sprintf("ghost%d", i), t0.Add(time.Minute), false)
		}
	}
	if n, m := len(th.ids.m), len(th.addrs.m); n > maxKeys || m > maxKeys {
		t.Fatalf("%d identifiers, %d addresses held; at most %d each", n, m, maxKeys)
	}
	if e := th.ids.m["alice"]; e == nil || e.failures != 10 {
		t.Fatalf("the attacked user's key: %+v", e)
	}
	if _, ok := th.ids.m[fmt.Sprintf("ghost%d", 3*maxKeys-1)]; !ok {
		t.Fatal("the latest identifier was evicted")
	}
	th.sweep(t0.Add(2 * time.Hour))
	if n, m := len(th.ids.m), len(th.addrs.m); n != 0 || m != 0 {
		t.Fatalf("an hour after the last failures: %d identifiers, %d addresses held", n, m)
	}
}

func TestDelays(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 14: 512 * time.Second, 15: 15 * time.Minute, 60: 15 * time.Minute, 1 << 40: 15 * time.Minute} {
		if got := testPerID.delay(n); got != want {
			t.Errorf("delay(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestSweepDropsEndedSessions(t *testing.T) {
	st := newSessions(8*time.Hour, 30*time.Minute, 16)
	var cookies []string
	for i := 0; i < 100; i++ {
		c, _ := st.create(fmt.Sprintf("u%d", i%10), "", t0)
		cookies = append(cookies, c)
	}
	if n := st.count(); n != 100 {
		t.Fatalf("%d sessions", n)
	}
	st.touch(cookies[0], t0.Add(20*time.Minute))
	st.sweep(t0.Add(31 * time.Minute))
	if n := st.count(); n != 1 {
		t.Fatalf("%d sessions after the sweep, want 1", n)
	}
	if _, ok := st.get(cookies[0], t0.Add(31*time.Minute)); !ok {
		t.Fatal("the active session was swept")
	}
	// A login sweeps when the last sweep is a minute old.
	st.create("v", "", t0.Add(2*time.Hour))
	if n := st.count(); n != 1 {
		t.Fatalf("%d sessions after a login 2 h later, want 1", n)
	}
}
