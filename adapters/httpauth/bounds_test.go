package httpauth

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 6, 15, 0, 0, 0, time.UTC)

// A spray of identifiers from many addresses keeps each table bounded.
func TestThrottleMemoryIsBounded(t *testing.T) {
	th := newThrottle(15*time.Minute, 5, 20)
	for i := 0; i < 3*maxKeys; i++ {
		th.begin(fmt.Sprintf("user%d", i), fmt.Sprintf("192.0.%d.%d", i/256, i%256), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n, m := len(th.ids.m), len(th.addrs.m); n > maxKeys || m > maxKeys {
		t.Fatalf("%d identifiers, %d addresses held; at most %d each", n, m, maxKeys)
	}
	// The most recent keys are the ones kept.
	if _, ok := th.ids.m[fmt.Sprintf("user%d", 3*maxKeys-1)]; !ok {
		t.Fatal("the latest identifier was evicted")
	}
	// One key never holds more than its limit.
	for i := 0; i < 100; i++ {
		th.begin("", "198.51.100.1", t0)
		th.ids.add("x", t0)
	}
	if n := len(th.addrs.m["198.51.100.1"]); n != 20 {
		t.Fatalf("an address holds %d failures", n)
	}
	if n := len(th.ids.m["x"]); n != 5 {
		t.Fatalf("an identifier holds %d failures", n)
	}
	th.sweep(t0.Add(time.Hour))
	if n, m := len(th.ids.m), len(th.addrs.m); n != 0 || m != 0 {
		t.Fatalf("after the window: %d identifiers, %d addresses held", n, m)
	}
}

func TestSweepDropsEndedSessions(t *testing.T) {
	st := newSessions(8*time.Hour, 30*time.Minute, 16)
	var cookies []string
	for i := 0; i < 100; i++ {
		c, _ := st.create(fmt.Sprintf("u%d", i%10), t0)
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
	st.create("v", t0.Add(2*time.Hour))
	if n := st.count(); n != 1 {
		t.Fatalf("%d sessions after a login 2 h later, want 1", n)
	}
}
