package web

import (
	"context"
	"html/template"
	"net/http"
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
	html  template.HTML
	z     deflated // html, compressed apart (see splice.go)
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

func (c *pageCache) put(key string, e cachedMain) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPages {
		c.m = map[string]cachedMain{}
	}
	c.m[key] = e
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
func (s *Server) cached(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("at") {
			h(w, r)
			return
		}
		// The position is read before the read model: a page rendered from a
		// later one is kept under the earlier, and replaced at the next look.
		c := &cacheable{key: r.URL.RequestURI(), pos: s.cfg.Live.Position()}
		if e, ok := s.mains.get(c.key, c.pos, s.cfg.Now()); ok {
			s.renderWith(w, r, http.StatusOK, "", e.title, e.live, nil, func(l *layout) { l.Main, l.Pos, l.mainZ = e.html, e.pos, &e.z })
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
