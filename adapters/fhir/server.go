package fhir

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"dispo/domain"
	"dispo/projections"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
)

// ContentType is FHIR's JSON media type, which every answer has.
const ContentType = "application/fhir+json; charset=utf-8"

// maxPatchBody bounds a PATCH: a few indicators take a few kilobytes.
const maxPatchBody = 64 << 10

// Config wires a Server.
type Config struct {
	Ledger *domain.Ledger
	Live   *projections.Live
	// Log serves the as-of view (_at) and pages taken at a position the
	// projections have left (_position).
	Log projections.AllReader
	// Authenticate puts the principal in the request's context (the same
	// bearer tokens and sessions as the JSON API: httpauth's Middleware).
	Authenticate func(http.Handler) http.Handler
	Principal    func(ctx context.Context) (domain.Principal, bool)
	Now          func() time.Time
	Logger       *slog.Logger
	// BaseURL is the absolute address of /fhir as clients reach it, for
	// the links and fullUrl of bundles; "" derives it from each request.
	BaseURL string
	// MaxWait bounds how long a page taken at a position the projections
	// have not reached yet waits for them, and a PATCH for its answer.
	MaxWait time.Duration
	// Registry, if set, gets dispo_fhir_request_duration_seconds.
	Registry *prometheus.Registry
}

// Server serves /fhir.
type Server struct {
	cfg      Config
	handler  http.Handler
	paris    *time.Location
	duration *prometheus.HistogramVec

	mu      sync.Mutex
	cur     *directory // the live projections' at curPos
	curPos  uint64
	answers answers
}

// New returns the FHIR server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Second
	}
	if cfg.Authenticate == nil {
		cfg.Authenticate = func(h http.Handler) http.Handler { return h }
	}
	s := &Server{cfg: cfg, paris: domain.Paris(), duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dispo_fhir_request_duration_seconds",
		Help:    "FHIR requests by interaction (metadata, read, search, patch), resource type and status code.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"interaction", "resource", "code"})}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(s.duration)
	}
	r := mux.NewRouter()
	r.HandleFunc("/fhir/metadata", s.timed("metadata", "CapabilityStatement", s.metadata)).Methods(http.MethodGet, http.MethodHead)
	for _, res := range []string{"Location", "HealthcareService"} {
		search := s.timed("search", res, func(w http.ResponseWriter, r *http.Request) { s.search(w, r, res) })
		r.HandleFunc("/fhir/"+res, search).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc("/fhir/"+res+"/_search", search).Methods(http.MethodPost)
		r.HandleFunc("/fhir/"+res+"/{id}", s.timed("read", res, func(w http.ResponseWriter, r *http.Request) { s.read(w, r, res) })).Methods(http.MethodGet, http.MethodHead)
	}
	patch := s.timed("patch", "Location", s.patch)
	r.HandleFunc("/fhir/Location", patch).Methods(http.MethodPatch)
	r.HandleFunc("/fhir/ws-synchro-dispo-lits-fhir/Location", patch).Methods(http.MethodPatch)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeOutcome(w, refuse(http.StatusMethodNotAllowed, "not-supported", nil, "méthode %s non prise en charge sur %s (voir /fhir/metadata)", r.Method, r.URL.Path))
	})
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeOutcome(w, refuse(http.StatusNotFound, "not-supported", nil, "%s : ni ressource ni opération servie ici (voir /fhir/metadata)", r.URL.Path))
	})
	s.handler = compressed(jsonOnly(cfg.Authenticate(r)))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) timed(interaction, resource string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h(sw, r)
		s.duration.WithLabelValues(interaction, resource, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
	}
}

// WriteOutcome answers an error as an OperationOutcome: for the
// authentication's refusals on /fhir, which come before the server.
func WriteOutcome(w http.ResponseWriter, status int, code, detail string) {
	issue := "processing"
	switch status {
	case http.StatusUnauthorized:
		issue = "login"
	case http.StatusForbidden:
		issue = "forbidden"
	case http.StatusBadRequest:
		issue = "invalid"
	case http.StatusRequestEntityTooLarge:
		issue = "too-costly"
	case http.StatusTooManyRequests:
		issue = "throttled"
	case http.StatusInternalServerError:
		issue = "exception"
	}
	writeOutcome(w, &outcomeError{status: status, code: issue, detail: detail})
}

func writeOutcome(w http.ResponseWriter, e *outcomeError) {
	severity := "error"
	if e.status < 400 {
		severity = "information"
	}
	oo := OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: severity, Code: e.code, Diagnostics: e.detail,
		Details: &CodeableConcept{Text: e.detail}, Expression: e.expression}}}
	writeResource(w, e.status, oo)
}

func writeResource(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	send(w, status, body)
}

// gzipper is set on the writer by compressed: answers of more than a
// packet are gzipped for clients that accept it (a region's Bundle is
// half a megabyte of JSON, a tenth of it gzipped).
type gzipper struct {
	http.ResponseWriter
}

// jsonOnly answers 406 to a client that accepts no JSON (FHIR's XML or
// RDF): dispo serves FHIR's JSON only.
func jsonOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if acc := r.Header.Values("Accept"); len(acc) > 0 {
			all := strings.ToLower(strings.Join(acc, ","))
			if !strings.Contains(all, "json") && !strings.Contains(all, "*/*") && !strings.Contains(all, "application/*") {
				writeOutcome(w, refuse(http.StatusNotAcceptable, "not-supported", nil, "seul FHIR en JSON est servi (application/fhir+json), pas %s", strings.Join(acc, ", ")))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func compressed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		for _, e := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
			if name, q, _ := strings.Cut(strings.TrimSpace(e), ";"); strings.EqualFold(name, "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
				next.ServeHTTP(gzipper{w}, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// gzips recycles the compressors: each holds a megabyte of state.
var gzips = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

func send(w http.ResponseWriter, status int, body []byte) {
	a := &answer{plain: body}
	if gzipped(w) {
		a.compress()
	}
	a.send(w, status)
}

// answer is a body, and gzipped when it is worth it.
type answer struct {
	plain, gz []byte
	etag      string // of a read
}

func (a *answer) compress() {
	if len(a.plain) <= 1400 || a.gz != nil {
		return
	}
	var buf bytes.Buffer
	zw := gzips.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(a.plain)
	zw.Close()
	gzips.Put(zw)
	a.gz = buf.Bytes()
}

func (a *answer) send(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	body := a.plain
	if a.gz != nil && gzipped(w) {
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// Searches of the live directory are kept, gzipped, until the log moves:
// a region's full bundle takes milliseconds to gzip, and consumers poll
// the same searches. Bounded in entries and bytes.
const (
	maxAnswers      = 64
	maxAnswersBytes = 32 << 20
)

type answers struct {
	mu    sync.Mutex
	pos   uint64
	m     map[string]*answer
	bytes int
}

func (c *answers) get(pos uint64, key string) *answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pos != pos {
		return nil
	}
	return c.m[key]
}

func (c *answers) put(pos uint64, key string, a *answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pos != pos || c.m == nil {
		c.pos, c.m, c.bytes = pos, map[string]*answer{}, 0
	}
	n := len(a.plain) + len(a.gz)
	if n > maxAnswersBytes/4 {
		return
	}
	// Full: make room by dropping others (any: the map's order), so that
	// the searches of now are kept rather than those that came first.
	for k, old := range c.m {
		if len(c.m) < maxAnswers && c.bytes+n <= maxAnswersBytes {
			break
		}
		delete(c.m, k)
		c.bytes -= len(old.plain) + len(old.gz)
	}
	c.m[key], c.bytes = a, c.bytes+n
}

// gzipped says whether the client takes gzip, looking through the
// writers that wrap the one compressed set.
func gzipped(w http.ResponseWriter) bool {
	for {
		switch v := w.(type) {
		case gzipper:
			return true
		case *statusWriter:
			w = v.ResponseWriter
		default:
			return false
		}
	}
}

// marshal writes JSON without escaping <, > and &: FHIR's JSON is read by
// programs, and the French texts read better.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func (s *Server) principal(w http.ResponseWriter, r *http.Request) (domain.Principal, bool) {
	p, ok := s.cfg.Principal(r.Context())
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dispo"`)
		writeOutcome(w, refuse(http.StatusUnauthorized, "login", nil, "identifiez-vous : envoyez un jeton (Authorization: Bearer <jeton>)"))
	}
	return p, ok
}

// reader returns the caller allowed to consult, or answers.
func (s *Server) reader(w http.ResponseWriter, r *http.Request) bool {
	p, ok := s.principal(w, r)
	if !ok {
		return false
	}
	if err := domain.Authorize(p, domain.ActConsult, ""); err != nil {
		writeOutcome(w, refuse(http.StatusForbidden, "forbidden", nil, "%s", domain.ErrorMessage(err)))
		return false
	}
	return true
}

func strict(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ";") {
			if strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(p), " ", ""), "handling=strict") {
				return true
			}
		}
	}
	return false
}

func (s *Server) base(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// fold returns the directory a query reads: the live one, the one as of
// _at, or the one at the position a page was taken at.
func (s *Server) fold(ctx context.Context, q *query) (*directory, uint64, error) {
	live := s.cfg.Live
	var a *projections.Availability
	var err error
	switch {
	case !q.at.IsZero():
		a, err = live.AsOf(ctx, q.at, s.cfg.Log)
	case q.position != 0:
		if q.position > live.Position() {
			wctx, cancel := context.WithTimeout(ctx, s.cfg.MaxWait)
			err := live.WaitFor(wctx, q.position)
			cancel()
			if err != nil {
				return nil, 0, refuse(http.StatusServiceUnavailable, "transient", nil, "ce serveur n'a pas encore lu le journal jusqu'à la position %d : réessayez", q.position)
			}
		}
		if d, pos, err := s.liveDirectory(); err != nil || pos == q.position {
			return d, pos, err
		}
		a, err = live.AsOfPosition(ctx, q.position, s.cfg.Log)
	default:
		return s.liveDirectory()
	}
	if err != nil {
		return nil, 0, err
	}
	d := newDirectory(a)
	return d, a.Position(), d.render()
}

// liveDirectory is the directory of the live projections, rendered once
// per position: requests that come while it renders wait for it rather
// than render it again.
func (s *Server) liveDirectory() (*directory, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d *directory
	var pos uint64
	s.cfg.Live.View(func(a *projections.Availability) {
		if pos = a.Position(); s.cur != nil && s.curPos == pos {
			d = s.cur
			return
		}
		d = newDirectory(a)
	})
	if d != s.cur {
		if err := d.render(); err != nil {
			return nil, 0, err
		}
		s.cur, s.curPos = d, pos
	}
	return d, pos, nil
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *outcomeError
	var pe *paramError
	switch {
	case errors.As(err, &oe):
		writeOutcome(w, oe)
	case errors.As(err, &pe):
		writeOutcome(w, &outcomeError{status: http.StatusBadRequest, code: pe.code, detail: pe.detail, expression: []string{pe.param}})
	case errors.Is(err, context.Canceled):
		return
	default:
		s.cfg.Logger.Error("fhir", "path", r.URL.Path, "err", err)
		writeOutcome(w, refuse(http.StatusInternalServerError, "exception", nil, "erreur interne : réessayez, et si elle persiste prévenez l'administrateur"))
	}
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, resource string) {
	if !s.reader(w, r) {
		return
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxPatchBody)
		if err := r.ParseForm(); err != nil {
			writeOutcome(w, refuse(http.StatusBadRequest, "structure", nil, "formulaire de recherche illisible : %v", err))
			return
		}
		params = r.Form
	}
	q, err := parseQuery(resource, params, strict(r), s.paris)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, pos, err := s.fold(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mu.Lock()
	live := d == s.cur
	s.mu.Unlock()
	key := resource + "\x00" + s.base(r) + "\x00" + q.applied.Encode()
	if a := s.answers.get(pos, key); live && a != nil {
		a.send(w, http.StatusOK)
		return
	}
	b, err := s.bundle(r, q, d, pos)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a := &answer{plain: b}
	a.compress()
	if live {
		s.answers.put(pos, key, a)
	}
	a.send(w, http.StatusOK)
}

// bundle is the searchset of q on d, a page of at most q.count matches
// taken at log position pos, with the resources _revinclude or _include
// asks for after them. The entries are spliced in as rendered.
func (s *Server) bundle(r *http.Request, q *query, d *directory, pos uint64) ([]byte, error) {
	base := s.base(r)
	// A hit is a resource by its kind and index in d.
	type hit struct {
		location bool
		i        int
	}
	var matches []hit
	if q.resource == "Location" {
		for i := range d.sites {
			if q.matchSite(&d.sites[i]) {
				matches = append(matches, hit{true, i})
			}
		}
	} else {
		for i := range d.services {
			if q.matchService(&d.services[i]) {
				matches = append(matches, hit{false, i})
			}
		}
		sort.Slice(matches, func(i, j int) bool {
			return ServiceID(d.services[matches[i].i].ID) < ServiceID(d.services[matches[j].i].ID)
		})
	}
	total := len(matches)
	// The same search at the same position is the same bundle: its id
	// derives from both.
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte(q.resource+"?"+q.applied.Encode()+"@"+strconv.FormatUint(pos, 10)))
	b := &Bundle{ResourceType: "Bundle", ID: id.String(), Type: "searchset", Total: &total}
	self := base + "/" + q.resource
	if len(q.applied) > 0 {
		self += "?" + q.applied.Encode()
	}
	b.Link = append(b.Link, BundleLink{Relation: "self", URL: self})
	start := min(q.offset, total)
	end := min(start+q.count, total)
	if q.summaryCount {
		start, end = 0, 0
	}
	link := func(rel string, offset int) {
		v := url.Values{}
		for k, vs := range q.applied {
			if k != "_position" && k != "_offset" && k != "_at" {
				v[k] = vs
			}
		}
		v.Set("_position", strconv.FormatUint(pos, 10))
		v.Set("_offset", strconv.Itoa(offset))
		b.Link = append(b.Link, BundleLink{Relation: rel, URL: base + "/" + q.resource + "?" + v.Encode()})
	}
	// _count=0 asks for the total alone: no page to go to.
	if !q.summaryCount && q.count > 0 && end < total {
		link("next", end)
	}
	if !q.summaryCount && q.count > 0 && start > 0 {
		link("previous", max(0, start-q.count))
	}
	head, err := marshal(b)
	if err != nil {
		return nil, err
	}
	page := matches[start:end]
	if len(page) == 0 {
		return head, nil
	}
	out := append(head[:len(head)-1:len(head)-1], `,"entry":[`...)
	seen := map[hit]bool{}
	add := func(h hit, mode string) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		kind, id, body := "HealthcareService", ServiceID(d.services[h.i].ID), d.serviceJSON[h.i]
		if h.location {
			kind, id, body = "Location", d.sites[h.i].id, d.siteJSON[h.i]
		}
		if len(q.elements) > 0 {
			var err error
			if body, err = elements(body, q.elements); err != nil {
				return err
			}
		}
		if len(seen) > 1 {
			out = append(out, ',')
		}
		out = append(out, `{"fullUrl":`...)
		out = strconv.AppendQuote(out, base+"/"+kind+"/"+id)
		out = append(out, `,"resource":`...)
		out = append(out, body...)
		out = append(out, `,"search":{"mode":"`+mode+`"}}`...)
		return nil
	}
	for _, h := range page {
		if err := add(h, "match"); err != nil {
			return nil, err
		}
	}
	for _, h := range page {
		switch {
		case h.location && q.revinclude:
			for _, u := range d.sites[h.i].units {
				if err := add(hit{false, d.serviceByID[ServiceID(u.ID)]}, "include"); err != nil {
					return nil, err
				}
			}
		case !h.location && q.include:
			if err := add(hit{true, d.siteOf[d.services[h.i].ID]}, "include"); err != nil {
				return nil, err
			}
		}
	}
	return append(out, "]}"...), nil
}

// elements keeps only the top-level elements asked for (FHIR's _elements),
// with what every resource keeps (resourceType, id, meta), and marks the
// resource SUBSETTED.
func elements(body []byte, keep []string) ([]byte, error) {
	var m map[string]json.RawMessage
	err := json.Unmarshal(body, &m)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, k := range append([]string{"resourceType", "id"}, keep...) {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	var mt Meta
	if err := json.Unmarshal(m["meta"], &mt); err != nil {
		return nil, err
	}
	mt.Tag = append(mt.Tag, Coding{System: sysSubsetted, Code: "SUBSETTED", Display: "subsetted"})
	if out["meta"], err = marshal(mt); err != nil {
		return nil, err
	}
	return marshal(out)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, resource string) {
	if !s.reader(w, r) {
		return
	}
	id := mux.Vars(r)["id"]
	q := &query{}
	if at := r.URL.Query().Get("_at"); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			s.fail(w, r, bad("_at", "un instant RFC 3339 est attendu (2025-03-06T15:30:00+01:00), pas %q", at))
			return
		}
		q.at = t
	}
	d, pos, err := s.fold(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body []byte
	var updated time.Time
	if resource == "Location" {
		if i, ok := d.siteByID[id]; ok {
			body, updated = d.siteJSON[i], d.sites[i].upd
		}
	} else if i, ok := d.serviceByID[id]; ok {
		body, updated = d.serviceJSON[i], d.services[i].UpdatedAt
	}
	if body == nil {
		writeOutcome(w, refuse(http.StatusNotFound, "not-found", []string{resource}, "%s/%s introuvable", resource, id))
		return
	}
	s.mu.Lock()
	live := d == s.cur
	s.mu.Unlock()
	key := resource + "/" + id
	a := s.answers.get(pos, key)
	if a == nil || !live {
		a = &answer{plain: body, etag: etag(body)}
		a.compress()
		if live {
			s.answers.put(pos, key, a)
		}
	}
	w.Header().Set("ETag", a.etag)
	w.Header().Set("Last-Modified", updated.UTC().Format(http.TimeFormat))
	a.send(w, http.StatusOK)
}

// writeVersioned answers a resource with its version (a digest of what it
// says) and its last change.
func writeVersioned(w http.ResponseWriter, body []byte, updated time.Time) {
	w.Header().Set("ETag", etag(body))
	w.Header().Set("Last-Modified", updated.UTC().Format(http.TimeFormat))
	send(w, http.StatusOK, body)
}

// etag is a resource's version: a digest of what it says (dispo keeps no
// version history of resources: versioning no-version).
func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `W/"` + hex.EncodeToString(sum[:8]) + `"`
}

// patch is the national PATCH of a unit's capacities: the unit named by
// ?identifier=, all the operations as one declaration or none.
func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/fhir+json" && mt != "application/json" {
		writeOutcome(w, refuse(http.StatusUnsupportedMediaType, "not-supported", nil, "Content-Type: application/fhir+json attendu"))
		return
	}
	ident := r.URL.Query().Get("identifier")
	if ident == "" {
		writeOutcome(w, refuse(http.StatusBadRequest, "required", []string{"identifier"},
			"identifier manquant : PATCH [base]/Location?identifier={IdNatStruct}/{idExterneSynchro}"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPatchBody))
	if err != nil {
		writeOutcome(w, refuse(http.StatusRequestEntityTooLarge, "too-costly", nil, "corps de plus de %d octets refusé", maxPatchBody))
		return
	}
	ops, err := parsePatch(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var units []projections.UnitView
	s.cfg.Live.View(func(a *projections.Availability) { units = writeTargets(a.Units(), ident) })
	switch len(units) {
	case 0:
		writeOutcome(w, refuse(http.StatusNotFound, "not-found", []string{"Location"},
			"La Location avec l'identifiant externe de synchro OU l'identifiant unique de saisie : '%s' n'a pas été trouvée.", ident))
		return
	case 1:
	default:
		writeOutcome(w, refuse(http.StatusPreconditionFailed, "multiple-matches", []string{"Location"},
			"La Location recherchée n'est pas unique, il y a '%d' résultats", len(units)))
		return
	}
	u := units[0]
	// A feeder's account says what it is; any other account writing
	// through this door is bed-management software all the same.
	if p.CapacitySource == "" {
		p.CapacitySource = domain.CapacitySourceBedManagement
	}
	for attempt := 0; ; attempt++ {
		cmd, err := figures(&u, ops)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rev := u.Revision
		out, err := s.cfg.Ledger.Execute(r.Context(), domain.Request{UnitID: u.ID, Command: cmd, Principal: &p,
			Source: domain.SourceAPI, IfMatch: &rev, CorrelationID: r.Header.Get("X-Request-Id")})
		var conflict *domain.ConflictError
		if errors.As(err, &conflict) && attempt >= maxPatchRetries {
			writeOutcome(w, refuse(http.StatusConflict, "conflict", nil, "l'UO %s change sans cesse en ce moment (d'autres déclarations) : réessayez", u.ID))
			return
		}
		if errors.As(err, &conflict) {
			// The unit moved since the projections showed it: judge the
			// operations again on what it is now, once they have read it.
			if u, err = s.unitAt(r.Context(), u.ID, conflict.Actual); err != nil {
				s.fail(w, r, err)
				return
			}
			continue
		}
		if err != nil {
			if oe := domainRefusal(err); oe != nil {
				writeOutcome(w, oe)
				return
			}
			s.fail(w, r, err)
			return
		}
		wctx, cancel := context.WithTimeout(r.Context(), s.cfg.MaxWait)
		err = s.cfg.Live.WaitFor(wctx, out.Result.LastPosition)
		cancel()
		if err != nil {
			// Acknowledged in the log; the projections are behind.
			w.Header().Set("X-Dispo-Position", strconv.FormatUint(out.Result.LastPosition, 10))
			writeOutcome(w, &outcomeError{status: http.StatusAccepted, code: "informational", detail: "déclaration enregistrée ; la lecture n'est pas encore à jour"})
			return
		}
		d, _, err := s.liveDirectory()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		i := d.siteOf[u.ID]
		w.Header().Set("X-Dispo-Position", strconv.FormatUint(out.Result.LastPosition, 10))
		writeVersioned(w, d.siteJSON[i], d.sites[i].upd)
		return
	}
}

// maxPatchRetries bounds how often a PATCH is judged again because another
// writer declared on the unit in between.
const maxPatchRetries = 10

// unitAt returns unit id once the projections show it at revision rev or
// later.
func (s *Server) unitAt(ctx context.Context, id string, rev int64) (projections.UnitView, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MaxWait)
	defer cancel()
	for {
		var u projections.UnitView
		var ok bool
		s.cfg.Live.View(func(a *projections.Availability) { u, ok = a.Unit(id) })
		if !ok {
			return u, refuse(http.StatusNotFound, "not-found", []string{"Location"}, "l'UO %s n'existe plus", id)
		}
		if u.Revision >= rev {
			return u, nil
		}
		if err := s.cfg.Live.WaitFor(ctx, s.cfg.Live.Position()+1); err != nil {
			return u, refuse(http.StatusServiceUnavailable, "transient", nil, "l'UO %s change en ce moment : réessayez", id)
		}
	}
}

// writeTargets are the units (in the directory) an identifier names for a
// write: {IdNatStruct}/{idExterneSynchro}, or the national local id
// 11/{unit id}; a system| before it is ignored.
func writeTargets(units []projections.UnitView, ident string) []projections.UnitView {
	if i := strings.LastIndexByte(ident, '|'); i >= 0 {
		ident = ident[i+1:]
	}
	head, tail, ok := strings.Cut(ident, "/")
	if !ok || tail == "" {
		return nil
	}
	var out []projections.UnitView
	for _, u := range units {
		if head == regionCode && u.ID == tail || u.SyncID != "" && head == idNatStruct(u.FINESS) && u.SyncID == tail {
			out = append(out, u)
		}
	}
	return out
}
