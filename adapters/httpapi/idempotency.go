package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// maxIdempotencyKeys bounds the keys remembered with their request (some
// 300 bytes each). The Ledger replays only the recent events of a unit, so
// a key older than that is not replayed anyway.
const maxIdempotencyKeys = 10000

// keyStore remembers which request each Idempotency-Key (of a user) was
// first sent with, so that the key sent again with another request is
// refused instead of answered with the first one's outcome. In memory, as
// the Ledger's memory of recent event ids is: after a restart, or at
// another replica, a retry is still recognised by its event ids, but a
// changed body is not told apart (the events do not record the request).
type keyStore struct {
	mu    sync.Mutex
	keys  map[string]keyEntry
	order []keySlot // a ring, oldest first from next
	next  int
	seq   uint64
}

type keyEntry struct {
	fp  [sha256.Size]byte
	seq uint64
}

type keySlot struct {
	key string
	seq uint64
}

func newKeyStore(max int) *keyStore {
	return &keyStore{keys: map[string]keyEntry{}, order: make([]keySlot, 0, max)}
}

// claim records fp for key unless key is known; it reports false when key
// was first sent with another request.
func (k *keyStore) claim(key string, fp [sha256.Size]byte) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.keys[key]; ok {
		return e.fp == fp
	}
	k.seq++
	slot := keySlot{key, k.seq}
	if len(k.order) < cap(k.order) {
		k.order = append(k.order, slot)
	} else {
		// The oldest goes, unless it was released and claimed again since.
		if old := k.order[k.next]; k.keys[old.key].seq == old.seq {
			delete(k.keys, old.key)
		}
		k.order[k.next] = slot
		k.next = (k.next + 1) % len(k.order)
	}
	k.keys[key] = keyEntry{fp, k.seq}
	return true
}

// release forgets key if it still holds fp: the request appended nothing,
// so the key may be sent with another one.
func (k *keyStore) release(key string, fp [sha256.Size]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.keys[key]; ok && e.fp == fp {
		delete(k.keys, key)
	}
}

// bodyRecorder keeps what the handler reads of a request's body.
type bodyRecorder struct {
	io.ReadCloser
	buf bytes.Buffer
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.buf.Write(p[:n])
	return n, err
}

// fingerprint identifies a request for its Idempotency-Key: method, path
// and the body in a canonical form (keys sorted, no white space, escapes
// resolved), so that a client that re-encodes the same body on a retry is
// still recognised. The body was accepted by decode: it is one JSON value
// without duplicate keys.
func fingerprint(r *http.Request, body []byte) [sha256.Size]byte {
	canon := bytes.TrimSpace(body)
	if len(canon) > 0 {
		dec := json.NewDecoder(bytes.NewReader(canon))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			if js, err := json.Marshal(v); err == nil {
				canon = js
			}
		}
	}
	h := sha256.New()
	h.Write([]byte(r.Method + "\x00" + r.URL.Path + "\x00"))
	h.Write(canon)
	var fp [sha256.Size]byte
	h.Sum(fp[:0])
	return fp
}
