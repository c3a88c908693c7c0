package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

// maxCachedBytes bounds the rendered answers kept (keys and bodies).
const maxCachedBytes = 32 << 20

// entryOverhead approximates what an entry costs beyond its key and body
// (the map slot, the rendered struct, the string headers), so that a flood
// of tiny answers is bounded too.
const entryOverhead = 256

// answerCache keeps the rendered answers of one log position: an answer
// is a function of the position and of the request, so when the position
// moves every entry is stale and all go at once. Within a position the
// keys are canonical requests (see cacheKey), few by construction; the
// byte budget holds whatever their number.
type answerCache struct {
	mu      sync.Mutex
	pos     uint64
	entries map[string]*rendered
	bytes   int64
	budget  int64
}

func newAnswerCache(budget int64) *answerCache {
	return &answerCache{entries: map[string]*rendered{}, budget: budget}
}

func (c *answerCache) get(key string, pos uint64, now time.Time) (rendered, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.pos == pos && (e.until.IsZero() || now.Before(e.until)) {
		return *e, true
	}
	return rendered{}, false
}

func (c *answerCache) put(key string, r rendered) {
	size := int64(len(key) + len(r.body) + entryOverhead)
	if size > c.budget/8 {
		return // one answer must not push out all the others
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case r.pos < c.pos:
		return // rendered before the position moved: stale already
	case r.pos > c.pos:
		clear(c.entries)
		c.pos, c.bytes = r.pos, 0
	}
	if old, ok := c.entries[key]; ok {
		c.bytes -= int64(len(key) + len(old.body) + entryOverhead)
		delete(c.entries, key)
	}
	// Any entry will do: they are all of this position, and all cheap to
	// render again.
	for k, e := range c.entries {
		if c.bytes+size <= c.budget {
			break
		}
		c.bytes -= int64(len(k) + len(e.body) + entryOverhead)
		delete(c.entries, k)
	}
	c.entries[key] = &r
	c.bytes += size
}

// stats returns the number of entries and their bytes.
func (c *answerCache) stats() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}

// cacheKey is the request as the answer depends on it: the route, its path
// variables and its query parameters, parsed, sorted, without those that
// do not change the answer (min_position only waits) and without empty
// ones (an empty filter filters nothing). The raw query string is never
// part of it: the same request spelled many ways, or with junk, is one
// entry (and junk never gets here: see strictQuery).
func cacheKey(r *http.Request) string {
	var b strings.Builder
	if cr := mux.CurrentRoute(r); cr != nil {
		t, _ := cr.GetPathTemplate()
		b.WriteString(t)
	} else {
		b.WriteString(r.URL.Path)
	}
	vars := mux.Vars(r)
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		b.WriteString("\x00" + k + "=" + vars[k])
	}
	b.WriteString("\x00?")
	q, _ := url.ParseQuery(r.URL.RawQuery)
	names = names[:0]
	for k, vs := range q {
		if k != "min_position" && len(vs) > 0 && vs[0] != "" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		b.WriteString("\x00" + k + "=" + q.Get(k))
	}
	return b.String()
}
