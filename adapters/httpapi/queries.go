package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dispo/domain"
	"dispo/projections"

	"github.com/gorilla/mux"
)

// queryFunc answers from the projections, read-locked; it returns the body.
type queryFunc func(r *http.Request, a *projections.Availability, now time.Time) (any, error)

// query wraps a read: login, ?min_position= (read your own writes),
// conditional GET on the projection position, and the JSON answer.
func (s *Server) query(fn queryFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := s.allowed(w, r, domain.ActConsult)
		if !ok {
			return
		}
		if !s.waitMinPosition(w, r) {
			return
		}
		if r.URL.Query().Has("at") {
			s.queryAt(w, r, fn)
			return
		}
		now := s.cfg.Now()
		var res rendered
		var err error
		s.cfg.Live.View(func(a *projections.Availability) {
			res, err = s.render(r, a, now, fn)
		})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if res.etag != "" {
			w.Header().Set("ETag", res.etag)
			if !res.lastModified.IsZero() {
				w.Header().Set("Last-Modified", res.lastModified.Format(http.TimeFormat))
			}
			if match(r.Header.Get("If-None-Match"), res.etag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.Header().Set("X-Dispo-Position", strconv.FormatUint(res.pos, 10))
		w.Header().Set("Content-Type", "application/json")
		w.Write(res.body)
	})
}

// queryAt answers a query as of an instant (?at=): what the consultation
// screen showed then, freshness bands computed against that instant. The
// fold starts from the last projection checkpoint before it (see
// projections.Live.AsOf), so it costs a copy and a few thousand events.
func (s *Server) queryAt(w http.ResponseWriter, r *http.Request, fn queryFunc) {
	at, err := parseAt(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.cfg.Streams == nil {
		s.writeProblem(w, r, domain.ENotFound, "les requêtes à une date passée ne sont pas servies ici", nil)
		return
	}
	a, err := s.cfg.Live.AsOf(r.Context(), at, s.cfg.Streams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := fn(r, a, at)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("X-Dispo-Position", strconv.FormatUint(a.Position(), 10))
	writeJSON(w, http.StatusOK, body)
}

// rendered is a query's answer, encoded.
type rendered struct {
	pos          uint64
	body         []byte
	etag         string
	lastModified time.Time
	until        time.Time // when the clock alone changes it; zero: never
}

// render answers r from a, read-locked. An answer that depends only on the
// projections (not on the clock) is kept, keyed by the canonical request,
// until the position moves: the matrix is computed and encoded once per
// change of the log, not once per request.
func (s *Server) render(r *http.Request, a *projections.Availability, now time.Time, fn queryFunc) (rendered, error) {
	key := cacheKey(r)
	pos := a.Position()
	if c, ok := s.cache.get(key, pos, now); ok {
		return c, nil
	}
	body, err := fn(r, a, now)
	if err != nil {
		return rendered{}, err
	}
	js, err := json.Marshal(body)
	if err != nil {
		return rendered{}, err
	}
	out := rendered{pos: pos, body: append(js, '\n')}
	switch b := body.(type) {
	case unitBody:
		// A single unit: see viewTag. Not kept: the band must be computed
		// against now.
		out.etag = viewTag(b)
		return out, nil
	case expiring:
		// Bands move with the clock: no validator, but the answer holds
		// until the first of its rows changes band (or becomes overdue).
		out.until = b.validUntil(now)
	case clockDependent:
		// Freshness bands move with the clock: no validator, no cache.
		return out, nil
	default:
		out.etag = `"p` + strconv.FormatUint(pos, 10) + `"`
		out.lastModified = s.cfg.Live.LastChange()
	}
	// Only once fn accepted the request: a refused one is no key.
	s.cache.put(key, out)
	return out, nil
}

// waitMinPosition honours ?min_position=N: it waits (bounded by MaxWait)
// until the projections have applied position N, so a client reads its own
// write. It answers the request itself and returns false when it cannot.
func (s *Server) waitMinPosition(w http.ResponseWriter, r *http.Request) bool {
	v := r.URL.Query().Get("min_position")
	if v == "" {
		return true
	}
	pos, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		s.fieldProblem(w, r, domain.EInvalid, "min_position", "min_position doit être un nombre entier positif ou nul")
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.MaxWait)
	defer cancel()
	if err := s.cfg.Live.WaitFor(ctx, pos); err != nil {
		w.Header().Set("Retry-After", "1")
		s.writeProblem(w, r, codeUnavailable, "les projections n'ont pas encore atteint la position "+v+" : réessayez dans un instant", nil)
		return false
	}
	return true
}

// match reports whether an If-None-Match header lists tag (or is "*"),
// by weak comparison (RFC 9110: the W/ prefixes do not count).
func match(header, tag string) bool {
	tag = strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

type clockDependent interface{ clockDependent() }

// expiring is an answer the clock changes at instants it can tell (zero:
// the clock changes nothing of it); kept until then or the log moves.
type expiring interface{ validUntil(now time.Time) time.Time }

func (s *Server) getUnit(r *http.Request, a *projections.Availability, now time.Time) (any, error) {
	id, err := pathUnit(r)
	if err != nil {
		return nil, err
	}
	v, ok := a.Unit(id)
	if !ok {
		return nil, domain.Errorf(domain.ENotFound, "UO %s introuvable", id)
	}
	return unitJSON(v, now), nil
}

func (s *Server) listUnits(r *http.Request, a *projections.Availability, now time.Time) (any, error) {
	q := r.URL.Query()
	dept, typ, est, band := q.Get("department"), q.Get("type"), q.Get("establishment"), q.Get("band")
	if dept != "" && !domain.ValidDepartment(dept) {
		return nil, unknownDepartment(dept)
	}
	if _, ok := domain.LookupType(typ); typ != "" && !ok {
		return nil, domain.FieldErrorf(domain.EInvalid, "type", "type d'unité %q inconnu", echoed(typ))
	}
	if est != "" && !domain.ValidFINESS(est) {
		return nil, domain.FieldErrorf(domain.EInvalid, "establishment", "establishment doit être un numéro FINESS (9 chiffres)")
	}
	wantBand := projections.Band(-1)
	if band != "" {
		b, ok := parseBand(band)
		if !ok {
			return nil, domain.FieldErrorf(domain.EInvalid, "band", "tranche %q inconnue (1h, 3h, 6h, 12h, 24h, over24h)", echoed(band))
		}
		wantBand = b
	}
	out := unitList{Units: []unitBody{}}
	for _, v := range a.Units() {
		if dept != "" && v.Department != dept || typ != "" && v.Type != typ || est != "" && v.FINESS != est {
			continue
		}
		if wantBand >= 0 && projections.BandOf(v.LastDeclaredAt, now) != wantBand {
			continue
		}
		out.Units = append(out.Units, unitJSON(v, now))
	}
	out.Count = len(out.Units)
	return out, nil
}

// bandNames are the API's names of the freshness bands, in order.
var bandNames = []string{"1h", "3h", "6h", "12h", "24h", "over24h"}

func parseBand(s string) (projections.Band, bool) {
	for i, n := range bandNames {
		if s == n {
			return projections.Band(i), true
		}
	}
	return 0, false
}

func (s *Server) getMatrix(r *http.Request, a *projections.Availability, _ time.Time) (any, error) {
	return matrixJSON(a.Matrix()), nil
}

func (s *Server) getDetail(r *http.Request, a *projections.Availability, now time.Time) (any, error) {
	dept := mux.Vars(r)["department"]
	row := r.URL.Query().Get("row")
	if row == "" {
		row = "dialyse"
	}
	if !domain.ValidDepartment(dept) {
		return nil, unknownDepartment(dept)
	}
	rows, err := a.Detail(row, dept)
	if err != nil {
		return nil, err
	}
	return detailJSON(dept, row, rows, now), nil
}

func unknownDepartment(dept string) error {
	return domain.FieldErrorf(domain.EInvalid, "department", "département %q inconnu", echoed(dept))
}

func (s *Server) getFreshness(r *http.Request, a *projections.Availability, now time.Time) (any, error) {
	return freshnessJSON(a.Freshness(now)), nil
}

func (s *Server) getOverdue(r *http.Request, a *projections.Availability, now time.Time) (any, error) {
	f := a.Freshness(now)
	out := overdueBody{At: now.UTC(), Units: []unitBody{}}
	dept := r.URL.Query().Get("department")
	if dept != "" && !domain.ValidDepartment(dept) {
		return nil, unknownDepartment(dept)
	}
	for _, v := range f.Overdue {
		if dept == "" || v.Department == dept {
			out.Units = append(out.Units, unitJSON(v, now))
		}
	}
	out.Count = len(out.Units)
	return out, nil
}
