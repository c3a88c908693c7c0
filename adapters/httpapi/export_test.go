package httpapi

import "github.com/gorilla/mux"

// Router is the server's router, for the tests that walk it.
func Router(s *Server) *mux.Router { return s.router }

// Declared returns the query parameters route accepts, and whether it was
// registered with a declaration at all.
func Declared(s *Server, route *mux.Route) ([]string, bool) {
	ep, ok := s.declared[route]
	return ep.params, ok
}

// CacheStats returns the number of rendered answers kept and their bytes.
func CacheStats(s *Server) (int, int64) { return s.cache.stats() }

// MaxCachedBytes is the cache's budget.
const MaxCachedBytes = maxCachedBytes
