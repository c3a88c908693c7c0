package httpapi

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The answer cache holds its budget whatever is put in it, and keeps one
// position only.
func TestAnswerCacheBudget(t *testing.T) {
	c := newAnswerCache(1 << 20)
	body := []byte(strings.Repeat("x", 10<<10))
	for i := range 1000 {
		c.put("k"+strconv.Itoa(i), rendered{pos: 7, body: body})
		if _, b := c.stats(); b > 1<<20 {
			t.Fatalf("after %d puts: %d bytes, over the budget of %d", i+1, b, 1<<20)
		}
	}
	if n, _ := c.stats(); n < 50 {
		t.Fatalf("%d entries kept of 10 KiB in 1 MiB", n)
	}
	c.put("huge", rendered{pos: 7, body: make([]byte, 1<<19)})
	if _, ok := c.get("huge", 7, time.Time{}); ok {
		t.Fatal("an answer of half the budget was kept")
	}
	c.put("old", rendered{pos: 6, body: body})
	if _, ok := c.get("old", 6, time.Time{}); ok {
		t.Fatal("an answer of an older position was kept")
	}
	c.put("new", rendered{pos: 8, body: body})
	if n, _ := c.stats(); n != 1 {
		t.Fatalf("%d entries after the position moved, want 1", n)
	}
	if _, ok := c.get("new", 9, time.Time{}); ok {
		t.Fatal("an entry answered for another position")
	}
}

// The key store holds at most its capacity, and a key released and
// claimed again survives the eviction of its first slot.
func TestKeyStoreBounded(t *testing.T) {
	k := newKeyStore(100)
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	for i := range 1000 {
		if !k.claim("key-"+strconv.Itoa(i), a) {
			t.Fatalf("new key %d refused", i)
		}
	}
	if len(k.keys) != 100 {
		t.Fatalf("%d keys kept, want 100", len(k.keys))
	}
	if !k.claim("key-999", a) || k.claim("key-999", b) {
		t.Fatal("a kept key is not checked against its request")
	}
	k.release("key-999", a)
	if !k.claim("key-999", b) {
		t.Fatal("a released key cannot be claimed with another request")
	}
}
