package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// endpoint is what a route declares beside its handler: the query
// parameters it reads, and when it is served. A parameter not listed, or
// listed and given twice, is refused before the handler runs: a parameter
// the handler would ignore must not pass for one it honours (the client
// believes it filtered), nor make the same answer cached many times over.
type endpoint struct {
	// params are the query parameters accepted, each at most once (none of
	// the API's parameters takes a list).
	params []string
	// anonymous: answered before any login (the session's login, the
	// probes), so the parameters are checked for anyone. Elsewhere an
	// anonymous caller gets its 401 first, as for every other check.
	anonymous bool
	// unready: served while the projections catch up. Everything that reads
	// them or appends waits for them (see whenReady).
	unready bool
}

// Parameters shared by the query routes: every projection query honours
// ?min_position= (read your own write) and ?at= (as of an instant).
var queryParams = []string{"min_position", "at"}

func queryEndpoint(more ...string) endpoint { return endpoint{params: append(more, queryParams...)} }

// commandEndpoint: commands take their input in the body, none in the query.
var commandEndpoint = endpoint{}

// routes is the one table of the API's routes.
func (s *Server) routes() {
	r := s.router
	// Cleaning would answer dot segments and double slashes with a bare 301
	// (and a client following it would turn a POST into a GET): such paths
	// name no resource here and get a problem instead.
	r.SkipClean(true)
	r.Use(s.instrument)
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.notFound)
	probe := endpoint{anonymous: true, unready: true}
	s.handle(r, "/healthz", http.HandlerFunc(s.healthz), probe).Methods(http.MethodGet, http.MethodHead)
	s.handle(r, "/readyz", http.HandlerFunc(s.readyz), probe).Methods(http.MethodGet, http.MethodHead)

	api := r.PathPrefix("/api/v1").Subrouter()
	api.Use(s.cfg.Auth.Middleware, privateAnswers)
	// The session reads neither the log nor the projections: one can log in
	// while they catch up.
	session := endpoint{unready: true}
	s.handle(api, "/session", s.cfg.Auth.LoginHandler(), endpoint{anonymous: true, unready: true}).Methods(http.MethodPost)
	s.handle(api, "/session", s.cfg.Auth.MeHandler(), session).Methods(http.MethodGet)
	s.handle(api, "/session", s.cfg.Auth.LogoutHandler(), session).Methods(http.MethodDelete)

	// Queries: any logged-in role consults.
	s.handle(api, "/units", s.query(s.listUnits), queryEndpoint("department", "type", "establishment", "band")).Methods(http.MethodGet)
	s.handle(api, "/units/{id}", http.HandlerFunc(s.unit), queryEndpoint()).Methods(http.MethodGet)
	s.handle(api, "/units/{id}/history", http.HandlerFunc(s.history), endpoint{params: []string{"at"}}).Methods(http.MethodGet)
	s.handle(api, "/matrix", s.query(s.getMatrix), queryEndpoint()).Methods(http.MethodGet)
	s.handle(api, "/departments/{department}/rows", s.query(s.getDetail), queryEndpoint("row")).Methods(http.MethodGet)
	s.handle(api, "/freshness", s.query(s.getFreshness), queryEndpoint()).Methods(http.MethodGet)
	s.handle(api, "/freshness/overdue", s.query(s.getOverdue), queryEndpoint("department")).Methods(http.MethodGet)
	// Analysts and admins.
	s.handle(api, "/trends/weekly", http.HandlerFunc(s.trendsWeekly),
		endpoint{params: []string{"from", "to", "department", "type", "format", "min_position"}}).Methods(http.MethodGet)

	// Commands.
	s.handle(api, "/units", s.command(s.registerUnit), commandEndpoint).Methods(http.MethodPost)
	s.handle(api, "/units/{id}", s.command(s.changeDetails), commandEndpoint).Methods(http.MethodPut)
	s.handle(api, "/units/{id}/declarations", s.command(s.declare), commandEndpoint).Methods(http.MethodPost)
	s.handle(api, "/units/{id}/comment", s.command(s.setComment), commandEndpoint).Methods(http.MethodPut)
	s.handle(api, "/units/{id}/comment", s.command(s.clearComment), commandEndpoint).Methods(http.MethodDelete)
	s.handle(api, "/units/{id}/closure", s.command(s.closeUnit), commandEndpoint).Methods(http.MethodPut)
	s.handle(api, "/units/{id}/closure", s.command(s.reopenUnit), commandEndpoint).Methods(http.MethodDelete)
	s.handle(api, "/units/{id}/closure/cancellation", s.command(s.cancelClosure), commandEndpoint).Methods(http.MethodPost)
	s.handle(api, "/units/{id}/corrections", s.command(s.correctDeclaration), commandEndpoint).Methods(http.MethodPost)
	s.handle(api, "/units/{id}/retirement", s.command(s.retireUnit), commandEndpoint).Methods(http.MethodPost)
	s.handle(api, "/units/{id}/pool", s.command(s.poolUnit), commandEndpoint).Methods(http.MethodPut)
	s.handle(api, "/units/{id}/pool", s.command(s.unpoolUnit), commandEndpoint).Methods(http.MethodDelete)
	if s.cfg.Backup != nil {
		// A copy of the log as it is, damaged record included, is what one
		// wants when the projections cannot get past it.
		s.handle(api, "/backup", http.HandlerFunc(s.backup), endpoint{unready: true}).Methods(http.MethodGet)
	}
	if s.cfg.Seal != nil {
		s.handle(api, "/seal", http.HandlerFunc(s.seal), commandEndpoint).Methods(http.MethodPost)
	}
}

// handle registers h at path on r behind the checks ep declares.
func (s *Server) handle(r *mux.Router, path string, h http.Handler, ep endpoint) *mux.Route {
	h = s.strictQuery(ep, h)
	if !ep.unready {
		h = s.whenReady(h)
	}
	rt := r.Handle(path, h)
	s.declared[rt] = ep
	return rt
}

// strictQuery refuses a query string that holds anything but ep's
// parameters, each once.
func (s *Server) strictQuery(ep endpoint, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !ep.anonymous {
			if _, ok := s.cfg.Principal(r.Context()); !ok {
				next.ServeHTTP(w, r) // it answers 401 before looking at anything
				return
			}
		}
		// url.Query drops the pairs it cannot decode: parsed here, they are
		// refused instead of silently ignored.
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			s.writeProblem(w, r, codeMalformedQuery, "la chaîne de requête ne peut être décodée (échappement % invalide ou « ; »)", nil)
			return
		}
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		slices.Sort(names) // the same request gets the same answer
		for _, k := range names {
			if !slices.Contains(ep.params, k) {
				name := echoed(k)
				s.fieldProblem(w, r, codeUnknownParameter, name, "paramètre inconnu "+strconv.Quote(name)+" ("+acceptedList(ep.params)+")")
				return
			}
			if len(q[k]) > 1 {
				s.fieldProblem(w, r, codeRepeatedParameter, k, "le paramètre "+strconv.Quote(k)+" est donné plusieurs fois")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// maxEchoed bounds the bytes of a name a problem repeats.
const maxEchoed = 64

// echoed is a name the client sent, as a problem repeats it: a junk name is
// not echoed whole, so the answer stays small.
func echoed(name string) string {
	if len(name) > maxEchoed {
		return strings.ToValidUTF8(name[:maxEchoed], "") + "…"
	}
	return name
}

func acceptedList(params []string) string {
	if len(params) == 0 {
		return "cette adresse ne prend aucun paramètre"
	}
	return "acceptés : " + strings.Join(params, ", ")
}

// whenReady answers 503 until the projections have caught up with the log:
// a query would answer from an old position, and a command would be
// accepted while the screens cannot show it (or, past a damaged record,
// never will).
func (s *Server) whenReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cfg.Live.Readiness(); err != nil {
			w.Header().Set("Retry-After", "5")
			s.writeProblem(w, r, codeNotReady, err.Error(), nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// privateAnswers: answers under /api/v1 are for the caller alone, and a
// cache must ask again before reusing one (with If-None-Match, the ETag
// makes that cheap). Handlers that must never be stored say so themselves.
func privateAnswers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, no-cache")
		next.ServeHTTP(w, r)
	})
}
