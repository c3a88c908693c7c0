package fhir

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"dispo/projections"
)

// maxPage is the most entries a searchset page holds, as the national
// directory answers.
const maxPage = 200

// A search's parameters, as parsed. Repeating a parameter requires each
// occurrence; a comma inside one separates alternatives (FHIR's AND and OR).
type query struct {
	resource    string
	ids         [][]string
	identifiers [][]token
	lastUpdated []dateCond
	tags        [][]token
	active      [][]string
	// The capacity parameters of a Location describe one indicator: they
	// hold together on at least one of its capacity extensions.
	capStatus, capType, temporality [][]token
	nb                              []numCond
	capDate                         []dateCond
	hasCapacity                     bool

	revinclude, include bool
	elements            []string
	count               int
	summaryCount        bool
	at                  time.Time // _at: the as-of view (dispo's extension)
	position            uint64    // _position: the log position a page is taken at; 0 for the live view
	offset              int       // _offset: of the page, with _position
	applied             url.Values
}

type token struct{ system, code string }

func (t token) matches(system, code string) bool {
	return code == t.code && (t.system == "" || t.system == system)
}

type dateCond struct {
	prefix string
	lo, hi time.Time // the value's range at its precision: [lo, hi)
}

type numCond struct {
	prefix string
	n      int
}

// paramError is a search refused: a value that does not parse, or (in
// strict handling) a parameter dispo does not know.
type paramError struct {
	code, param, detail string
}

func (e *paramError) Error() string { return e.detail }

var commonParams = []string{"_id", "identifier", "_lastUpdated", "_tag", "_format", "_elements", "_count", "_summary", "_at", "_position", "_offset"}

var resourceParams = map[string][]string{
	"Location":          {"capacity-status", "capacity-type", "temporality-capacity", "nb-capacity", "capacity-update-date", "_revinclude"},
	"HealthcareService": {"active", "_include"},
}

// knownParam says whether a search of resource understands name.
func knownParam(resource, name string) bool {
	return slices.Contains(commonParams, name) || slices.Contains(resourceParams[resource], name)
}

// parseQuery reads a search of resource. Unknown parameters are ignored
// unless strict, as FHIR says (they are then missing from the self link).
func parseQuery(resource string, v url.Values, strict bool, paris *time.Location) (*query, error) {
	q := &query{resource: resource, count: maxPage, applied: url.Values{}}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if base, modifier, ok := strings.Cut(name, ":"); ok && knownParam(resource, base) {
			// A modifier changes what a parameter means: ignoring it would
			// answer another search than the one asked (FHIR: refused).
			return nil, &paramError{"not-supported", name, "paramètre " + name + " : le modificateur :" + modifier + " n'est pas pris en charge"}
		}
		if !knownParam(resource, name) {
			if strict {
				if name == "" {
					return nil, &paramError{"invalid", "(sans nom)", "paramètre sans nom dans la requête (Prefer: handling=strict)"}
				}
				return nil, &paramError{"not-supported", name, "paramètre de recherche inconnu : " + name + " (Prefer: handling=strict)"}
			}
			continue
		}
		for _, raw := range v[name] {
			if err := q.add(name, raw, paris); err != nil {
				return nil, err
			}
			q.applied.Add(name, raw)
		}
	}
	if q.position == 0 && q.offset != 0 {
		return nil, &paramError{"invalid", "_offset", "_offset ne vaut qu'avec _position (les liens de page le donnent)"}
	}
	if q.position != 0 && !q.at.IsZero() {
		return nil, &paramError{"invalid", "_position", "_position et _at ne vont pas ensemble"}
	}
	return q, nil
}

func bad(param, format string, args ...any) error {
	return &paramError{"invalid", param, fmt.Sprintf("paramètre "+param+" : "+format, args...)}
}

func (q *query) add(name, raw string, paris *time.Location) error {
	alts := strings.Split(raw, ",")
	switch name {
	case "_id":
		for _, id := range alts {
			if !validID(id) {
				return bad(name, "%q n'est pas un identifiant FHIR", id)
			}
		}
		q.ids = append(q.ids, alts)
	case "identifier", "_tag", "capacity-status", "capacity-type", "temporality-capacity":
		toks := make([]token, len(alts))
		for i, a := range alts {
			t, err := parseToken(name, a)
			if err != nil {
				return err
			}
			toks[i] = t
		}
		switch name {
		case "identifier":
			q.identifiers = append(q.identifiers, toks)
		case "_tag":
			q.tags = append(q.tags, toks)
		case "capacity-status":
			q.capStatus, q.hasCapacity = append(q.capStatus, toks), true
		case "capacity-type":
			q.capType, q.hasCapacity = append(q.capType, toks), true
		case "temporality-capacity":
			q.temporality, q.hasCapacity = append(q.temporality, toks), true
		}
	case "active":
		for _, a := range alts {
			if a != "true" && a != "false" {
				return bad(name, "true ou false attendu, pas %q", a)
			}
		}
		q.active = append(q.active, alts)
	case "_lastUpdated", "capacity-update-date":
		c, err := parseDate(name, raw, paris)
		if err != nil {
			return err
		}
		if name == "_lastUpdated" {
			q.lastUpdated = append(q.lastUpdated, c)
		} else {
			q.capDate, q.hasCapacity = append(q.capDate, c), true
		}
	case "nb-capacity":
		c, err := parseNumber(name, raw)
		if err != nil {
			return err
		}
		q.nb, q.hasCapacity = append(q.nb, c), true
	case "_revinclude":
		if raw != "HealthcareService:location" {
			return &paramError{"not-supported", name, "_revinclude : seul HealthcareService:location est pris en charge, pas " + strconv.Quote(raw)}
		}
		q.revinclude = true
	case "_include":
		if raw != "HealthcareService:location" {
			return &paramError{"not-supported", name, "_include : seul HealthcareService:location est pris en charge, pas " + strconv.Quote(raw)}
		}
		q.include = true
	case "_elements":
		for _, e := range alts {
			if e = strings.TrimSpace(e); e != "" {
				q.elements = append(q.elements, e)
			}
		}
	case "_count":
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return bad(name, "un entier positif ou nul est attendu, pas %q", raw)
		}
		q.count = min(n, maxPage)
	case "_summary":
		switch raw {
		case "count":
			q.summaryCount = true
		case "false":
		default:
			return &paramError{"not-supported", name, "_summary : seuls count et false sont pris en charge, pas " + strconv.Quote(raw)}
		}
	case "_format":
		switch raw {
		case "json", "application/json", "application/fhir+json", "application/json+fhir":
		default:
			return &paramError{"not-supported", name, "_format : seul JSON est servi (json, application/fhir+json), pas " + strconv.Quote(raw)}
		}
	case "_at":
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return bad(name, "un instant RFC 3339 est attendu (2025-03-06T15:30:00+01:00), pas %q", raw)
		}
		q.at = t
	case "_position":
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || n == 0 {
			return bad(name, "une position du journal (entier > 0) est attendue, pas %q", raw)
		}
		q.position = n
	case "_offset":
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return bad(name, "un entier positif ou nul est attendu, pas %q", raw)
		}
		q.offset = n
	}
	return nil
}

func parseToken(param, s string) (token, error) {
	if s == "" {
		return token{}, bad(param, "valeur vide")
	}
	if i := strings.LastIndexByte(s, '|'); i >= 0 {
		if s[i+1:] == "" {
			return token{}, bad(param, "code manquant après %q", s[:i+1])
		}
		return token{system: s[:i], code: s[i+1:]}, nil
	}
	return token{code: s}, nil
}

var prefixes = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"}

func splitPrefix(s string) (string, string) {
	if len(s) > 2 && slices.Contains(prefixes, s[:2]) && (s[2] >= '0' && s[2] <= '9' || s[2] == '-') {
		return s[:2], s[2:]
	}
	return "eq", s
}

func parseNumber(param, s string) (numCond, error) {
	p, v := splitPrefix(s)
	n, err := strconv.Atoi(v)
	if err != nil || p == "sa" || p == "eb" {
		return numCond{}, bad(param, "un nombre entier, précédé ou non de eq, ne, gt, lt, ge ou le, est attendu, pas %q", s)
	}
	return numCond{prefix: p, n: n}, nil
}

func (c numCond) holds(n int) bool {
	switch c.prefix {
	case "ne":
		return n != c.n
	case "gt":
		return n > c.n
	case "lt":
		return n < c.n
	case "ge":
		return n >= c.n
	case "le":
		return n <= c.n
	}
	return n == c.n
}

// parseDate reads a FHIR date parameter: a prefix and a date or dateTime
// at any precision; one without a zone is in Paris time, as the screens.
func parseDate(param, s string, paris *time.Location) (dateCond, error) {
	// An unescaped "+" of a zone reaches the server as a space.
	p, v := splitPrefix(strings.ReplaceAll(s, " ", "+"))
	if p == "sa" || p == "eb" {
		return dateCond{}, bad(param, "préfixe %s non pris en charge", p)
	}
	type layout struct {
		format string
		next   func(time.Time) time.Time
	}
	zoned := strings.ContainsAny(v[min(len(v), 10):], "Z+-")
	layouts := []layout{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		format := l.format
		if zoned && len(format) > 10 {
			format += "Z07:00"
		}
		if strings.Contains(v, ".") {
			// Fractions of a second: the range is the instant itself (Go
			// would read them under the seconds' layout, at a second's
			// precision).
			if !strings.Contains(format, "05") {
				continue
			}
			f := strings.Replace(format, "05", "05.999999999", 1)
			if t, err := time.ParseInLocation(f, v, paris); err == nil {
				return dateCond{prefix: p, lo: t, hi: t.Add(time.Nanosecond)}, nil
			}
			continue
		}
		if t, err := time.ParseInLocation(format, v, paris); err == nil {
			return dateCond{prefix: p, lo: t, hi: l.next(t)}, nil
		}
	}
	return dateCond{}, bad(param, "une date FHIR est attendue (2025-03-06, 2025-03-06T15:30:00+01:00), précédée ou non de eq, ne, gt, lt, ge ou le, pas %q", s)
}

// holds says whether instant t is in the condition, t standing for the
// range of its own nanosecond.
func (c dateCond) holds(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	switch c.prefix {
	case "ne":
		return t.Before(c.lo) || !t.Before(c.hi)
	case "gt":
		return !t.Before(c.hi)
	case "lt":
		return t.Before(c.lo)
	case "ge":
		return !t.Before(c.lo)
	case "le":
		return t.Before(c.hi)
	}
	return !t.Before(c.lo) && t.Before(c.hi)
}

func anyOf[T any](alts []T, f func(T) bool) bool { return slices.ContainsFunc(alts, f) }

func allOf[T any](groups [][]T, f func(T) bool) bool {
	for _, g := range groups {
		if !anyOf(g, f) {
			return false
		}
	}
	return true
}

// identifiers a unit answers to: its national local id (11/{id}), its
// synchronisation id ({IdNatStruct}/{SyncID}), its establishment's FINESS
// and national structure id.
func unitIdentifiers(u *unitIDs) []token {
	out := []token{{code: regionCode + "/" + u.id}, {system: sysFINESS, code: u.finess},
		{system: "urn:oid:1.2.250.1.71.4.2.2", code: idNatStruct(u.finess)}}
	if u.sync != "" {
		out = append(out, token{code: idNatStruct(u.finess) + "/" + u.sync})
	}
	return out
}

type unitIDs struct{ id, finess, sync string }

func identifierMatches(want token, have []token) bool {
	for _, h := range have {
		if want.code == h.code && (want.system == "" || want.system == h.system) {
			return true
		}
	}
	return false
}

// matchSite judges a Location.
func (q *query) matchSite(s *site) bool {
	if !allOf(q.ids, func(id string) bool { return id == s.id }) {
		return false
	}
	if !allOf(q.tags, func(t token) bool { return t.matches(regionIDF.System, regionIDF.Code) }) {
		return false
	}
	for _, c := range q.lastUpdated {
		if !c.holds(s.upd) {
			return false
		}
	}
	if len(q.identifiers) > 0 {
		have := []token{{code: regionCode + "/" + s.local}}
		for _, u := range s.units {
			have = append(have, unitIdentifiers(&unitIDs{u.ID, u.FINESS, u.SyncID})...)
		}
		if !allOf(q.identifiers, func(t token) bool { return identifierMatches(t, have) }) {
			return false
		}
	}
	if !q.hasCapacity {
		return true
	}
	if s.caps == nil {
		return false
	}
	return slices.ContainsFunc(s.caps.list, func(in indicator) bool { return q.matchIndicator(s.caps, in) })
}

func (q *query) matchIndicator(c *capacities, in indicator) bool {
	if !allOf(q.capStatus, func(t token) bool { return t.matches(sysCapacityStatus, in.status) }) ||
		!allOf(q.capType, func(t token) bool { return t.matches(sysCapacityType, c.nature) }) ||
		!allOf(q.temporality, func(t token) bool { return t.matches(sysTemporality, temporalityCurrent) }) {
		return false
	}
	for _, n := range q.nb {
		if !n.holds(in.n) {
			return false
		}
	}
	for _, d := range q.capDate {
		if !d.holds(c.updated) {
			return false
		}
	}
	return true
}

// matchService judges a HealthcareService.
func (q *query) matchService(u *projections.UnitView) bool {
	id := ServiceID(u.ID)
	if !allOf(q.ids, func(x string) bool { return x == id }) ||
		!allOf(q.tags, func(t token) bool { return t.matches(regionIDF.System, regionIDF.Code) }) ||
		!allOf(q.active, func(a string) bool { return (a == "true") == !u.Retired }) {
		return false
	}
	for _, c := range q.lastUpdated {
		if !c.holds(u.UpdatedAt) {
			return false
		}
	}
	have := unitIdentifiers(&unitIDs{u.ID, u.FINESS, u.SyncID})
	return allOf(q.identifiers, func(t token) bool { return identifierMatches(t, have) })
}
