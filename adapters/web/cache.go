package web

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"dispo/projections"
)

// The consultation pages are the same for everyone at one position of the
// log: their main element is rendered once per address and position and
// kept until the log moves or a band it shows changes with the clock
// (projections.NextChange). Only the header around it is the person's.

// maxCachedPages bounds the cache; past it, it starts again empty (the
// addresses are few: pages times filters).
const maxCachedPages = 512

type cachedMain struct {
	pos   uint64
	until time.Time // zero: until the log moves
	z     deflated  // the main element, and compressed apart (see splice.go)
	title string
	live  bool
}

type pageCache struct {
	mu sync.Mutex
	m  map[string]cachedMain
}

func (c *pageCache) get(key string, pos uint64, now time.Time) (cachedMain, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.pos != pos || !e.until.IsZero() && !now.Before(e.until) {
		return cachedMain{}, false
	}
	return e, true
}

// put keeps e; when the cache is full, the entries of older positions go
// first, then any (maps iterate in no set order), half of them.
func (c *pageCache) put(key string, e cachedMain, current uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedMain{}
	}
	if len(c.m) >= maxCachedPages {
		for k, old := range c.m {
			if old.pos != current {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < maxCachedPages/2 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = e
}

// keyOf is the cache's key of r: its path and the parameters its page
// reads, in a fixed order; others change nothing and are left out, so that
// junk parameters make no new entries.
func keyOf(r *http.Request, params []string) string {
	q := r.URL.Query()
	kept := url.Values{}
	for _, p := range params {
		if v := q.Get(p); v != "" {
			kept.Set(p, v)
		}
	}
	return r.URL.Path + "?" + kept.Encode()
}

// cacheable is carried by the request of a page whose main element the
// cache may keep; its handler sets until to when what it rendered expires.
type cacheable struct {
	key   string
	pos   uint64
	until time.Time
}

type cacheKey struct{}

// cached serves h's page from the cache when it holds its main element at
// the current position; else h renders it and the cache keeps it. Pages of
// the past (?at=) are rendered each time: they are rare.
func (s *Server) cached(h http.HandlerFunc, params ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("at") {
			h(w, r)
			return
		}
		// The position is read before the read model: a page rendered from a
		// later one is kept under the earlier, and replaced at the next look.
		c := &cacheable{key: keyOf(r, params), pos: s.position(r)}
		if e, ok := s.mains.get(c.key, c.pos, s.cfg.Now()); ok {
			s.renderWith(w, r, http.StatusOK, "", e.title, e.live, nil, func(l *layout) { l.Pos, l.mainZ = e.pos, &e.z })
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), cacheKey{}, c)))
	}
}

// expires tells the cache when lines rendered at now stop being true.
func expires(r *http.Request, lines []unitLine, now time.Time) {
	c, ok := r.Context().Value(cacheKey{}).(*cacheable)
	if !ok {
		return
	}
	for _, l := range lines {
		if t := projections.NextChange(l.LastDeclaredAt, now); !t.IsZero() && (c.until.IsZero() || t.Before(c.until)) {
			c.until = t
		}
	}
}
