package fhir_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
	"dispo/adapters/userfile"
	"dispo/cmd/dispo/app"
	"dispo/domain"

	"github.com/prometheus/client_golang/prometheus"
)

// site is the whole service (API, FHIR, pages) on a real bbolt file
// holding the seed's log, served on 127.0.0.1 as dispo serve does.
type site struct {
	t      *testing.T
	srv    *httptest.Server
	log    *boltlog.Log
	svc    *app.Service
	users  *userfile.Store
	tokens map[string]string
	reg    *prometheus.Registry
}

const password = "phrase de passe des essais"

func newSite(t *testing.T) *site {
	t.Helper()
	data := t.TempDir()
	log, err := boltlog.Open(filepath.Join(data, "events.db"), boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	envs, err := jsonl.ReadFile("../../eventlog-fixtures/seed-77.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixturegen.Fill(context.Background(), log, slices.Values(envs), len(envs)); err != nil {
		t.Fatal(err)
	}
	users, err := userfile.Open(filepath.Join(data, "users.json"), userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, log: log, users: users, tokens: map[string]string{}, reg: prometheus.NewRegistry()}
	for _, u := range []userfile.User{
		{ID: "gam-eg", Role: domain.RoleResponsable, Establishments: []string{"770110054"}, CapacitySource: domain.CapacitySourceGAM},
		{ID: "resp-eg", Role: domain.RoleResponsable, Establishments: []string{"770110054"}},
		{ID: "resp-ailleurs", Role: domain.RoleResponsable, Establishments: []string{"750000001"}},
		{ID: "clinicien", Role: domain.RoleProfessionnel},
		{ID: "admin", Role: domain.RoleAdmin},
	} {
		if err := users.Add(u, password); err != nil {
			t.Fatal(err)
		}
		if s.tokens[u.ID], err = users.NewToken(u.ID); err != nil {
			t.Fatal(err)
		}
	}
	s.svc, err = app.New(context.Background(), app.Config{Log: log, Users: users, DataDir: data, Registry: s.reg, MaxWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.svc.Close() })
	s.srv = httptest.NewServer(s.svc.Handler())
	t.Cleanup(s.srv.Close)
	deadline := time.Now().Add(10 * time.Second)
	for !s.svc.Live().Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the projections did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.body)
	}
	return m
}

// do sends a request as user ("" for none) and checks that every answer
// on /fhir is FHIR JSON that conforms.
func (s *site) do(method, path, user string, hdr map[string]string, body []byte) answer {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[user])
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(path, "/fhir/") && method != http.MethodHead {
		if ct := resp.Header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
			s.t.Fatalf("%s %s: Content-Type %q\n%s", method, path, ct, b)
		}
		mustConform(s.t, b)
	}
	return a
}

func (s *site) get(path, user string) answer { return s.do(http.MethodGet, path, user, nil, nil) }

func (s *site) head() uint64 {
	s.t.Helper()
	h, err := s.log.Head(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

// api sends a JSON API command as user and waits for the projections.
func (s *site) api(method, path, user string, body any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	a := s.do(method, "/api/v1"+path, user, map[string]string{"Content-Type": "application/json"}, b)
	if a.status >= 300 {
		s.t.Fatalf("%s %s: %d %s", method, path, a.status, a.body)
	}
	s.settle()
}

func (s *site) settle() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.svc.Live().WaitFor(ctx, s.head()); err != nil {
		s.t.Fatal(err)
	}
}

// entries are a searchset's resources by "Type/id", with their search mode.
type entry struct {
	mode     string
	resource map[string]any
}

func entries(t *testing.T, a answer) (map[string]entry, []string) {
	t.Helper()
	b := a.json(t)
	if b["resourceType"] != "Bundle" || b["type"] != "searchset" {
		t.Fatalf("not a searchset: %s", a.body)
	}
	out := map[string]entry{}
	var order []string
	for _, e := range list(b["entry"]) {
		e := object(e)
		r := object(e["resource"])
		key := r["resourceType"].(string) + "/" + r["id"].(string)
		out[key] = entry{object(e["search"])["mode"].(string), r}
		order = append(order, key)
	}
	return out, order
}

// capacity is one indicator of a Location, read back.
type capacity struct {
	status, nature, source, closing, updated string
	n                                        int
}

func capacities(t *testing.T, loc map[string]any) map[string]capacity {
	t.Helper()
	out := map[string]capacity{}
	for _, e := range extensions(loc["extension"], ig+"ror-location-supported-capacity") {
		var c capacity
		code := func(url string) string {
			f := extensions(e["extension"], url)
			if len(f) == 0 {
				return ""
			}
			return object(list(object(f[0]["valueCodeableConcept"])["coding"])[0])["code"].(string)
		}
		c.status, c.nature, c.source, c.closing = code("capacityStatus"), code("capacityType"), code("capacitySourceType"), code("capacityClosingType")
		c.n = int(extensions(e["extension"], "nbCapacity")[0]["valueInteger"].(float64))
		c.updated = extensions(e["extension"], "capacityUpdateDate")[0]["valueDateTime"].(string)
		out[c.status] = c
	}
	return out
}

func TestMetadataSaysWhatIsServed(t *testing.T) {
	s := newSite(t)
	a := s.get("/fhir/metadata", "")
	cs := a.json(t)
	if a.status != 200 || cs["resourceType"] != "CapabilityStatement" || cs["fhirVersion"] != "4.0.1" {
		t.Fatalf("metadata: %d %s", a.status, a.body)
	}
	served := map[string][]string{}
	for _, r := range list(object(list(cs["rest"])[0])["resource"]) {
		r := object(r)
		for _, p := range list(r["searchParam"]) {
			served[r["type"].(string)] = append(served[r["type"].(string)], object(p)["name"].(string))
		}
	}
	// What it declares is what a search takes: each declared parameter is
	// accepted under strict handling, and an undeclared one refused.
	for res, params := range served {
		for _, p := range params {
			v := map[string]string{"_id": "x", "identifier": "11/x", "_lastUpdated": "ge2024", "_tag": "11", "_at": "2025-01-01T00:00:00Z",
				"capacity-status": "02", "capacity-type": "02", "temporality-capacity": "01", "nb-capacity": "gt0",
				"capacity-update-date": "2024", "active": "true"}[p]
			if v == "" {
				t.Fatalf("no sample value for %s", p)
			}
			if a := s.do("GET", "/fhir/"+res+"?"+p+"="+url.QueryEscape(v), "clinicien", map[string]string{"Prefer": "handling=strict"}, nil); a.status != 200 {
				t.Errorf("%s?%s=%s, declared, is refused: %d %s", res, p, v, a.status, a.body)
			}
		}
	}
	if len(served["Location"]) < 10 || len(served["HealthcareService"]) < 5 {
		t.Fatalf("declared search parameters: %v", served)
	}
	// And what it does not declare is refused under strict handling.
	for _, p := range []string{"address-postalcode=77000", "near=48.8|2.3", "capacity-closing-type=01", "name=UDM"} {
		if a := s.do("GET", "/fhir/Location?"+p, "clinicien", map[string]string{"Prefer": "handling=strict"}, nil); a.status != 400 {
			t.Errorf("Location?%s, not declared, is accepted under strict handling: %d", p, a.status)
		}
	}
}

// The department-77 units of the seed, with the figures and dates a
// reader of seed-77.jsonl finds in it (the last declaration of each).
func TestSearchReturnsTheSeedsUnitsWithTheirFigures(t *testing.T) {
	s := newSite(t)
	a := s.get("/fhir/Location?_revinclude=HealthcareService:location", "clinicien")
	if a.status != 200 {
		t.Fatalf("search: %d %s", a.status, a.body)
	}
	b := a.json(t)
	if b["total"].(float64) != 4 {
		t.Fatalf("total %v, want the seed's 4 units", b["total"])
	}
	got, order := entries(t, a)
	want := []struct {
		unit                         string
		available, installed, closed int
		at                           string
	}{
		{"77-EG-01", 0, 20, 0, "2024-08-09T10:47:00Z"},
		{"77-EG-02", 1, 18, 0, "2024-08-09T10:47:00Z"},
		{"77-EG-03", 0, 24, 0, "2024-08-09T10:47:00Z"},
		{"77-EG-04", 0, 0, 0, "2025-03-06T14:30:00Z"},
	}
	for i, w := range want {
		loc, ok := got["Location/uo-"+w.unit]
		if !ok || loc.mode != "match" || order[i] != "Location/uo-"+w.unit {
			t.Fatalf("Location of %s: %+v (order %v)", w.unit, loc, order)
		}
		caps := capacities(t, loc.resource)
		for status, n := range map[string]int{"02": w.available, "01": w.installed, "05": w.closed} {
			c := caps[status]
			if c.n != n || c.updated != w.at || c.nature != "02" || c.source != "01" {
				t.Errorf("%s indicator %s: %+v, want %d places at %s from a person (01)", w.unit, status, c, n, w.at)
			}
		}
		if caps["05"].closing != "03" {
			t.Errorf("%s: closed places of closing type %q, want 03 Indéterminé", w.unit, caps["05"].closing)
		}
		hs, ok := got["HealthcareService/"+w.unit]
		if !ok || hs.mode != "include" || object(list(hs.resource["location"])[0])["reference"] != "Location/uo-"+w.unit {
			t.Errorf("HealthcareService of %s: %+v", w.unit, hs)
		}
		if by := object(hs.resource["providedBy"]); object(by["identifier"])["value"] != "770110054" || by["display"] != "EG" {
			t.Errorf("%s is provided by %v", w.unit, by)
		}
	}
}

func ids(t *testing.T, a answer) []string {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("search: %d %s", a.status, a.body)
	}
	_, order := entries(t, a)
	return order
}

func TestSearchParameters(t *testing.T) {
	s := newSite(t)
	all := []string{"Location/uo-77-EG-01", "Location/uo-77-EG-02", "Location/uo-77-EG-03", "Location/uo-77-EG-04"}
	cases := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"capacity-status=02&nb-capacity=gt0", all[1:2]}, // the same indicator: 1 available on EG-02
		{"capacity-status=https://mos.esante.gouv.fr/NOS/TRE_R330-TypeStatutCapacite/FHIR/TRE-R330-TypeStatutCapacite|02&nb-capacity=ge1", all[1:2]},
		{"capacity-status=01&nb-capacity=gt17", all[:3]},
		{"capacity-status=01&nb-capacity=lt1", all[3:]},
		{"nb-capacity=gt20", all[2:3]},
		{"capacity-type=02", all},
		{"capacity-type=01", nil},
		{"temporality-capacity=01&capacity-status=05&nb-capacity=0", all},
		{"capacity-update-date=2024-08-09", all[:3]},
		{"capacity-update-date=ge2025-03-06T15:30:00%2B01:00", all[3:]}, // 14:30Z is 15:30 in Paris
		{"capacity-update-date=gt2025-03-06T15:30:00%2B01:00", nil},
		{"_id=uo-77-EG-01,uo-77-EG-03", []string{all[0], all[2]}},
		{"_id=uo-77-EG-01&_id=uo-77-EG-03", nil},
		{"identifier=11/77-EG-02", all[1:2]},
		{"identifier=11/77-EG-02,11/77-EG-04", []string{all[1], all[3]}},
		{"identifier=https://finess.esante.gouv.fr|770110054", all},
		{"identifier=750000001", nil},
		{"_lastUpdated=ge2025-01-01", all[3:]},
		{"_lastUpdated=lt2024-08-09", nil},
		{"_lastUpdated=ge2024-08-09&_lastUpdated=le2024-08-09", all[:3]},
		{"_tag=11", all},
		{"_tag=https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM|11", all},
		{"_tag=52", nil},
		{"_format=json&capacity-status=02&nb-capacity=gt0", all[1:2]},
		{"nonsense=1&nb-capacity=gt20", all[2:3]}, // lenient: ignored
	}
	for _, c := range cases {
		got := ids(t, s.get("/fhir/Location?"+c.query, "clinicien"))
		if !slices.Equal(got, c.want) {
			t.Errorf("Location?%s = %v, want %v", c.query, got, c.want)
		}
	}
	// The services: by identifier, by activity.
	if got := ids(t, s.get("/fhir/HealthcareService?identifier=11/77-EG-03&_include=HealthcareService:location", "clinicien")); !slices.Equal(got, []string{"HealthcareService/77-EG-03", "Location/uo-77-EG-03"}) {
		t.Errorf("HealthcareService?identifier=11/77-EG-03&_include = %v", got)
	}
	if got := ids(t, s.get("/fhir/HealthcareService?active=false", "clinicien")); len(got) != 0 {
		t.Errorf("HealthcareService?active=false = %v", got)
	}

	// Lenient: the parameters applied are in the self link, the ignored not.
	b := s.get("/fhir/Location?nonsense=1&nb-capacity=gt20", "clinicien").json(t)
	self := object(list(b["link"])[0])
	if self["relation"] != "self" || !strings.Contains(self["url"].(string), "nb-capacity=gt20") || strings.Contains(self["url"].(string), "nonsense") {
		t.Errorf("self link %v", self)
	}
	refused := []struct {
		query, hdr, code string
		status           int
	}{
		{"nonsense=1", "handling=strict", "not-supported", 400},
		{"nb-capacity=beaucoup", "", "invalid", 400},
		{"_lastUpdated=hier", "", "invalid", 400},
		{"_id=a%20b", "", "invalid", 400},
		{"_format=xml", "", "not-supported", 400},
		{"_revinclude=Organization:partof", "", "not-supported", 400},
		{"_offset=200", "", "invalid", 400},
	}
	for _, r := range refused {
		a := s.do("GET", "/fhir/Location?"+r.query, "clinicien", map[string]string{"Prefer": r.hdr}, nil)
		oo := a.json(t)
		if a.status != r.status || oo["resourceType"] != "OperationOutcome" || object(list(oo["issue"])[0])["code"] != r.code {
			t.Errorf("Location?%s (Prefer %q): %d %s, want %d %s", r.query, r.hdr, a.status, a.body, r.status, r.code)
		}
	}
	// _elements keeps what is asked and says the resource is subsetted;
	// _summary=count gives the total alone.
	got, _ := entries(t, s.get("/fhir/Location?_id=uo-77-EG-01&_elements=identifier", "clinicien"))
	r := got["Location/uo-77-EG-01"].resource
	if _, ext := r["extension"]; ext || r["identifier"] == nil || !strings.Contains(string(mustJSON(t, r["meta"])), "SUBSETTED") {
		t.Errorf("_elements=identifier: %v", r)
	}
	if b := s.get("/fhir/Location?_summary=count", "clinicien").json(t); b["total"].(float64) != 4 || b["entry"] != nil {
		t.Errorf("_summary=count: %v", b)
	}
	// Without a token: 401, in FHIR's words.
	if a := s.get("/fhir/Location", ""); a.status != 401 || object(list(a.json(t)["issue"])[0])["code"] != "login" {
		t.Errorf("anonymous search: %d %s", a.status, a.body)
	}
	if a := s.do("GET", "/fhir/Location", "", map[string]string{"Authorization": "Bearer dispo_faux"}, nil); a.status != 401 || a.json(t)["resourceType"] != "OperationOutcome" {
		t.Errorf("a bad token: %d %s", a.status, a.body)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Pages are taken at one position of the log: the next link gives the rest
// of the same state however the log moved in between.
func TestPagesStayOnTheirPosition(t *testing.T) {
	s := newSite(t)
	first := s.get("/fhir/Location?_count=2", "clinicien")
	page1 := ids(t, first)
	var next string
	for _, l := range list(first.json(t)["link"]) {
		if l := object(l); l["relation"] == "next" {
			next = l["url"].(string)
		}
	}
	if len(page1) != 2 || next == "" {
		t.Fatalf("first page %v, next %q", page1, next)
	}
	// Searched once before the log moves: a kept answer must not outlive
	// its position.
	if before, _ := entries(t, s.get("/fhir/Location", "clinicien")); len(before) != 4 {
		t.Fatalf("before: %v", keys(before))
	}
	// The log moves: EG-04 declares, a unit is registered.
	s.api("POST", "/units/77-EG-04/declarations", "resp-eg", map[string]int{"available": 2, "installed": 6, "closed_places": 0})
	s.api("POST", "/units", "admin", map[string]string{"unit_id": "77-EG-00", "finess": "770110054", "establishment": "EG", "department": "77", "type": "udm", "name": "Nouvelle UDM"})
	u, _ := url.Parse(next)
	second := s.get(u.RequestURI(), "clinicien")
	if got := ids(t, second); !slices.Equal(got, []string{"Location/uo-77-EG-03", "Location/uo-77-EG-04"}) {
		t.Fatalf("second page %v, want EG-03 and EG-04 as they were", got)
	}
	got, _ := entries(t, second)
	if n := capacities(t, got["Location/uo-77-EG-04"].resource)["02"].n; n != 0 {
		t.Fatalf("the second page shows EG-04's new figure (%d available): it is not the first page's state", n)
	}
	if tot := second.json(t)["total"].(float64); tot != 4 {
		t.Fatalf("second page total %v, want the first page's 4", tot)
	}
	// A search now sees the new state.
	now, _ := entries(t, s.get("/fhir/Location", "clinicien"))
	if len(now) != 5 || capacities(t, now["Location/uo-77-EG-04"].resource)["02"].n != 2 {
		t.Fatalf("a new search: %d Locations, EG-04 %+v", len(now), capacities(t, now["Location/uo-77-EG-04"].resource))
	}
	// _at reads the past, as a documented extension.
	past, _ := entries(t, s.get("/fhir/Location?_at=2024-08-06T00:00:00Z", "clinicien"))
	if len(past) != 3 || capacities(t, past["Location/uo-77-EG-02"].resource)["02"].n != 2 {
		t.Fatalf("as of 6 August 2024: %v", past)
	}
}

func TestReadsAndIdentifiers(t *testing.T) {
	s := newSite(t)
	a := s.get("/fhir/Location/uo-77-EG-02", "clinicien")
	if a.status != 200 || a.header.Get("ETag") == "" || a.header.Get("Last-Modified") != "Fri, 09 Aug 2024 10:47:00 GMT" {
		t.Fatalf("read: %d ETag %q Last-Modified %q", a.status, a.header.Get("ETag"), a.header.Get("Last-Modified"))
	}
	loc := a.json(t)
	if id := object(list(loc["identifier"])[0]); id["value"] != "11/77-EG-02" {
		t.Errorf("idLocation %v", id)
	}
	hs := s.get("/fhir/HealthcareService/77-EG-02", "clinicien").json(t)
	if hs["active"] != true || hs["name"] != "Auto dialyse" {
		t.Errorf("HealthcareService: %v", hs)
	}
	for _, p := range []string{"/fhir/Location/uo-nulle-part", "/fhir/HealthcareService/77-EG-99"} {
		if a := s.get(p, "clinicien"); a.status != 404 || object(list(a.json(t)["issue"])[0])["code"] != "not-found" {
			t.Errorf("%s: %d %s", p, a.status, a.body)
		}
	}
	if a := s.do("GET", "/fhir/Location/uo-77-EG-02", "clinicien", map[string]string{"Accept": "application/fhir+xml"}, nil); a.status != 406 {
		t.Errorf("Accept: application/fhir+xml: %d %s", a.status, a.body)
	}
	if a := s.do("GET", "/fhir/Location/uo-77-EG-02", "clinicien", map[string]string{"Accept": "application/fhir+json, */*;q=0.1"}, nil); a.status != 200 {
		t.Errorf("Accept: application/fhir+json: %d %s", a.status, a.body)
	}
	if a := s.do("DELETE", "/fhir/Location/uo-77-EG-02", "admin", nil, nil); a.status != 405 {
		t.Errorf("DELETE: %d %s", a.status, a.body)
	}
	// The sync id an admin gives a unit is its idExterneSynchro, found as
	// {IdNatStruct}/{idExterneSynchro}.
	s.api("PUT", "/units/77-EG-02", "admin", map[string]string{"finess": "770110054", "establishment": "EG", "department": "77",
		"type": "autodialyse", "name": "Auto dialyse", "sync_id": "AUTO-02"})
	got := ids(t, s.get("/fhir/Location?identifier=1770110054/AUTO-02", "clinicien"))
	if !slices.Equal(got, []string{"Location/uo-77-EG-02"}) {
		t.Fatalf("by sync id: %v", got)
	}
	loc = s.get("/fhir/Location/uo-77-EG-02", "clinicien").json(t)
	if id := object(list(loc["identifier"])[1]); id["value"] != "1770110054/AUTO-02" || object(list(object(id["type"])["coding"])[0])["code"] != "26" {
		t.Errorf("idExterneSynchro %v", id)
	}
	// A closed unit is notAvailable with its dates, its places closed as
	// its closure says; a retired one stays readable, inactive.
	s.api("PUT", "/units/77-EG-03/closure", "resp-eg", map[string]any{"reason": "travaux", "planned_end": "2030-01-31T08:00:00Z", "reopenable": false})
	hs = s.get("/fhir/HealthcareService/77-EG-03", "clinicien").json(t)
	na := object(list(hs["notAvailable"])[0])
	if object(na["during"])["end"] != "2030-01-31T08:00:00Z" || na["id"] != "closingReopeningDate" {
		t.Errorf("closed: %v", hs["notAvailable"])
	}
	caps := capacities(t, s.get("/fhir/Location/uo-77-EG-03", "clinicien").json(t))
	if caps["02"].n != 0 || caps["05"].n != 24 || caps["05"].closing != "02" {
		t.Errorf("closed unit's figures: %+v", caps)
	}
	s.api("POST", "/units/77-EG-01/retirement", "admin", map[string]string{"reason": "doublon"})
	hs = s.get("/fhir/HealthcareService/77-EG-01", "clinicien").json(t)
	loc = s.get("/fhir/Location/uo-77-EG-01", "clinicien").json(t)
	if hs["active"] != false || loc["status"] != "inactive" || len(capacities(t, loc)) != 0 {
		t.Errorf("retired: active %v, Location %v with %d indicators", hs["active"], loc["status"], len(capacities(t, loc)))
	}
	if got := ids(t, s.get("/fhir/HealthcareService?active=false", "clinicien")); !slices.Equal(got, []string{"HealthcareService/77-EG-01"}) {
		t.Errorf("active=false: %v", got)
	}
}

// A pool is one Location, named after the pool, shared by its units.
func TestPoolIsOneSharedLocation(t *testing.T) {
	s := newSite(t)
	for _, u := range []string{"77-EG-01", "77-EG-04"} {
		s.api("PUT", "/units/"+u+"/pool", "admin", map[string]string{"pool": "P77"})
	}
	s.api("POST", "/units/77-EG-04/declarations", "resp-eg", map[string]int{"available": 3, "installed": 6, "closed_places": 1})
	got, _ := entries(t, s.get("/fhir/Location?_revinclude=HealthcareService:location", "clinicien"))
	pool, ok := got["Location/pool-P77"]
	if !ok || len(got) != 3+4 {
		t.Fatalf("Locations and services: %v", keys(got))
	}
	caps := capacities(t, pool.resource)
	if caps["02"].n != 3 || caps["01"].n != 26 || caps["05"].n != 1 {
		t.Fatalf("pool's figures %+v, want 3 available of 20+6 installed, 1 closed", caps)
	}
	for _, u := range []string{"77-EG-01", "77-EG-04"} {
		if ref := object(list(got["HealthcareService/"+u].resource["location"])[0])["reference"]; ref != "Location/pool-P77" {
			t.Errorf("%s points at %v", u, ref)
		}
	}
	// The pool's id does not move when a member leaves.
	s.api("DELETE", "/units/77-EG-01/pool", "admin", nil)
	if a := s.get("/fhir/Location/pool-P77", "clinicien"); a.status != 200 {
		t.Fatalf("the pool after a member left: %d", a.status)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The national PATCH, built from the documentation's template
// (ROR-fhir-documentation, docs/pages/guide/modeleV3/patch-capacitaire/location.md:
// the request line, the two headers, the Parameters body with its [FHIRPath]
// placeholder filled as exemples/creation-maj-lieu-offre.md fills it).
const capURL = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location-supported-capacity"

func coded(url, sys, code, display string) map[string]any {
	return map[string]any{"url": url, "valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": sys, "code": code, "display": display}}}}
}

// indicator is the capacity extension of the documentation's value, with
// its 8 sub-extensions.
func indicator(status, nature string, n int) map[string]any {
	return map[string]any{"url": capURL, "extension": []any{
		map[string]any{"url": "nbCapacity", "valueInteger": n},
		map[string]any{"url": "capacityUpdateDate", "valueDateTime": "2026-12-02T09:00:00+01:00"},
		coded("capacityStatus", treURL("R330", "TypeStatutCapacite"), status, ""),
		coded("capacityType", treURL("R329", "NatureCapacite"), nature, ""),
		coded("temporalityCapacity", treURL("R331", "TemporaliteCapacite"), "01", "Courant"),
		coded("capacitySourceType", treURL("R335", "TypeSourceCapacite"), "02", "Bed management"),
		coded("genderCapacityAvailable", treURL("R332", "GenreCapacite"), "03", "Indifférencié"),
		coded("temporaryAssignement", treURL("R337", "AffectationTemporaire"), "01", "Aucune"),
	}}
}

// operation is one "operation" parameter of the template: type, path, and
// the value as a part holding the extension.
func operation(kind, path string, value map[string]any) map[string]any {
	return map[string]any{"name": "operation", "part": []any{
		map[string]any{"name": "type", "valueString": kind},
		map[string]any{"name": "path", "valueString": path},
		map[string]any{"name": "value", "part": []any{map[string]any{"extension": []any{value}}}},
	}}
}

// replacePath is the documentation's FHIRPath that picks one indicator
// (scenario 3, "replace").
func replacePath(status string) string {
	return "Location.extension.where(url='" + capURL + "').where(extension.where(url = 'capacityStatus' and valueCodeableConcept.coding.code = '" + status +
		"') and extension.where(url = 'temporalityCapacity' and valueCodeableConcept.coding.code = '01')  and extension.where(url = 'genderCapacityAvailable' and valueCodeableConcept.coding.code = '03') and extension.where(url = 'temporaryAssignement' and valueCodeableConcept.coding.code = '01'))"
}

// addPath is the documentation's path of an add (scenario 2).
const addPath = "Location.extension.where(url='" + capURL + "')"

func patchBody(ops ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"parameter": ops, "resourceType": "Parameters"})
	return b
}

func (s *site) patch(path, user string, body []byte) answer {
	s.t.Helper()
	return s.do(http.MethodPatch, path, user, map[string]string{"Content-Type": "application/fhir+json"}, body)
}

func issue(t *testing.T, a answer) (code string, expr []any, diag string) {
	t.Helper()
	oo := a.json(t)
	if oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("not an OperationOutcome: %d %s", a.status, a.body)
	}
	i := object(list(oo["issue"])[0])
	d, _ := i["diagnostics"].(string)
	return i["code"].(string), list(i["expression"]), d
}

func TestNationalPatch(t *testing.T) {
	s := newSite(t)
	for unit, sync := range map[string]string{"77-EG-02": "AUTO-02", "77-EG-03": "CL-03"} {
		typ := map[string]string{"77-EG-02": "autodialyse", "77-EG-03": "centre_lourd"}[unit]
		name := map[string]string{"77-EG-02": "Auto dialyse", "77-EG-03": "Centre Lourd"}[unit]
		s.api("PUT", "/units/"+unit, "admin", map[string]string{"finess": "770110054", "establishment": "EG", "department": "77", "type": typ, "name": name, "sync_id": sync})
	}
	target := "/fhir/ws-synchro-dispo-lits-fhir/Location?identifier=1770110054/AUTO-02"

	// §"replace" first: an existing indicator, available places 1 -> 5.
	before := s.head()
	a := s.patch(target, "gam-eg", patchBody(operation("replace", replacePath("02"), indicator("02", "02", 5))))
	if a.status != 200 || a.header.Get("ETag") == "" {
		t.Fatalf("replace: %d %s", a.status, a.body)
	}
	if caps := capacities(t, a.json(t)); caps["02"].n != 5 || caps["01"].n != 18 || caps["02"].source != "03" {
		t.Fatalf("after replace: %+v; want 5 available of 18, from the feeder's GAM (03)", caps)
	}
	if h := s.head(); h != before+1 {
		t.Fatalf("one PATCH appended %d events, want 1", h-before)
	}
	evs, err := s.log.ReadStreamForward(context.Background(), domain.UnitStream("77-EG-02"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if d, ok := last.Event.(domain.AvailabilityDeclared); !ok || d.Available != 5 || d.Installed != 18 || d.CapacitySource != "03" ||
		last.Actor.UserID != "gam-eg" || last.Source != domain.SourceAPI {
		t.Fatalf("the event: %+v by %+v via %s", last.Event, last.Actor, last.Source)
	}
	// ... and it is on the consultation screen.
	if got := consulted(t, s, "Auto dialyse"); got != "5 / 18" {
		t.Fatalf("the consultation screen shows %q for Auto dialyse, want 5 / 18", got)
	}

	// §"replace", two operations in one Parameters (the template repeats
	// "operation"): one declaration, installed and closed at once.
	before = s.head()
	a = s.patch(target, "gam-eg", patchBody(
		operation("replace", replacePath("01"), indicator("01", "02", 20)),
		operation("replace", replacePath("05"), indicator("05", "02", 2))))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["01"].n != 20 || caps["05"].n != 2 || caps["02"].n != 5 || s.head() != before+1 {
		t.Fatalf("two replaces: %d %+v, %d events", a.status, caps, s.head()-before)
	}

	// A person's account through the same door is bed management (02).
	a = s.patch("/fhir/Location?identifier=1770110054/CL-03", "resp-eg", patchBody(operation("replace", replacePath("02"), indicator("02", "02", 3))))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["02"].n != 3 || caps["02"].source != "02" {
		t.Fatalf("replace by a responsable: %d %+v", a.status, caps)
	}

	// §"replace" then §"add" (creation-maj-lieu-offre.md, scenarios 3 and
	// 2): an indicator the unit does not have is 404 not-found on the
	// extension, and the feeder then adds; here, a unit that never declared.
	s.api("POST", "/units", "admin", map[string]string{"unit_id": "77-EG-05", "finess": "770110054", "establishment": "EG", "department": "77",
		"type": "udm", "name": "UDM nouvelle", "sync_id": "UDM-05"})
	newUnit := "/fhir/Location?identifier=1770110054/UDM-05"
	before = s.head()
	a = s.patch(newUnit, "gam-eg", patchBody(operation("replace", replacePath("02"), indicator("02", "02", 4))))
	if code, expr, _ := issue(t, a); a.status != 404 || code != "not-found" || len(expr) != 1 || expr[0] != addPath {
		t.Fatalf("replace of a missing indicator: %d %s", a.status, a.body)
	}
	a = s.patch(newUnit, "gam-eg", patchBody(
		operation("add", addPath, indicator("01", "02", 10)),
		operation("add", addPath, indicator("02", "02", 4))))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["02"].n != 4 || caps["01"].n != 10 || s.head() != before+1 {
		t.Fatalf("add: %d %s", a.status, a.body)
	}

	// Refusals, each appending nothing.
	s.api("POST", "/units", "admin", map[string]string{"unit_id": "77-EG-06", "finess": "770110054", "establishment": "EG", "department": "77",
		"type": "udm", "name": "UDM jumelle", "sync_id": "UDM-05"})
	s.api("PUT", "/units/77-EG-03/closure", "resp-eg", map[string]any{"reason": "travaux", "reopenable": true})
	refusals := []struct {
		name, path, user string
		body             []byte
		status           int
		code             string
		expr             string
	}{
		// The refusals patch-capacitaire/location.md lists (404 Location,
		// 412, 400 business-rule), then dispo's own.
		{"an unknown unit", "/fhir/Location?identifier=1770110054/INCONNUE", "gam-eg",
			patchBody(operation("replace", replacePath("02"), indicator("02", "02", 1))), 404, "not-found", "Location"},
		{"a sync id twice", newUnit, "gam-eg",
			patchBody(operation("replace", replacePath("02"), indicator("02", "02", 1))), 412, "multiple-matches", "Location"},
		{"more closed than installed", target, "gam-eg",
			patchBody(operation("replace", replacePath("05"), indicator("05", "02", 21))), 400, "business-rule", "Location.extension('" + capURL + "')"},
		{"a declaration on a closed unit", "/fhir/Location?identifier=1770110054/CL-03", "gam-eg",
			patchBody(operation("replace", replacePath("02"), indicator("02", "02", 1))), 400, "business-rule", "Location.extension('" + capURL + "')"},
		{"beds for a dialysis unit", target, "gam-eg",
			patchBody(operation("replace", replacePath("02"), indicator("02", "01", 1))), 400, "business-rule", "Location.extension('" + capURL + "').extension('capacityType')"},
		{"an indicator dispo does not keep (occupied)", target, "gam-eg",
			patchBody(operation("add", addPath, indicator("03", "02", 1))), 400, "business-rule", "Location.extension('" + capURL + "')"},
		{"criteria that name no indicator", target, "gam-eg",
			patchBody(operation("replace", strings.Replace(replacePath("02"), "'02'", "'99'", 1), indicator("02", "02", 1))), 400, "business-rule", ""},
		{"a delete", target, "gam-eg",
			[]byte(`{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueString":"delete"},{"name":"path","valueString":"` +
				strings.ReplaceAll(replacePath("02"), `'`, `'`) + `"}]}]}`), 400, "not-supported", ""},
		{"not a Parameters", target, "gam-eg", []byte(`{"resourceType":"Location"}`), 400, "structure", "Parameters"},
		{"not JSON", target, "gam-eg", []byte(`operation=replace`), 400, "structure", ""},
		{"a responsable of another establishment", target, "resp-ailleurs",
			patchBody(operation("replace", replacePath("02"), indicator("02", "02", 1))), 403, "forbidden", ""},
		{"a professionnel", target, "clinicien",
			patchBody(operation("replace", replacePath("02"), indicator("02", "02", 1))), 403, "forbidden", ""},
		{"no token", target, "",
			patchBody(operation("replace", replacePath("02"), indicator("02", "02", 1))), 401, "login", ""},
		{"no identifier", "/fhir/Location", "gam-eg",
			patchBody(operation("replace", replacePath("02"), indicator("02", "02", 1))), 400, "required", "identifier"},
	}
	for _, r := range refusals {
		before := s.head()
		a := s.patch(r.path, r.user, r.body)
		code, expr, diag := issue(t, a)
		if a.status != r.status || code != r.code || r.expr != "" && (len(expr) == 0 || expr[0] != r.expr) {
			t.Errorf("%s: %d %s, want %d %s at %q", r.name, a.status, a.body, r.status, r.code, r.expr)
		}
		if diag == "" {
			t.Errorf("%s: no diagnostics", r.name)
		}
		if h := s.head(); h != before {
			t.Errorf("%s appended %d events", r.name, h-before)
		}
	}
	if a := s.do(http.MethodPatch, target, "gam-eg", map[string]string{"Content-Type": "application/json-patch+json"}, []byte(`[]`)); a.status != 415 {
		t.Errorf("a JSON Patch: %d %s", a.status, a.body)
	}
}

var detailRow = regexp.MustCompile(`(?s)<th scope="row">(?:<a [^>]*>)?([^<]+)(?:</a>)?.*?</th>\s*<td class="nombre" data-label="Disponibles / installées">(\d+ / \d+)</td>`)

// consulted is what the consultation screen shows a clinician for unit
// name in department 77.
func consulted(t *testing.T, s *site, name string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(s.srv.URL+"/connexion", url.Values{"identifiant": {"clinicien"}, "mot_de_passe": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(s.srv.URL + "/disponibilites/consultation/dialyse?departement=77")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, m := range detailRow.FindAllStringSubmatch(string(page), -1) {
		if strings.TrimSpace(m[1]) == name {
			return m[2]
		}
	}
	t.Fatalf("no row for %s on the consultation screen (%d):\n%s", name, resp.StatusCode, page)
	return ""
}

// The README's PATCH example is sent as written (its shell quoting undone)
// and does what it says.
func TestTheREADMEsPatchExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const line = `"$B/ws-synchro-dispo-lits-fhir/Location?identifier=1350054680/SSR38888" -d '`
	i := bytes.Index(readme, []byte(line))
	if i < 0 {
		t.Fatal("the README has no PATCH example")
	}
	rest := string(readme[i+len(line):])
	end := strings.Index(rest, "}'\n")
	if end < 0 {
		t.Fatal("the README's PATCH body does not end")
	}
	body := strings.ReplaceAll(rest[:end+1], `'"'"'`, `'`)
	s := newSite(t)
	s.tokens["gam-35"] = ""
	if err := s.users.Add(userfile.User{ID: "gam-35", Role: domain.RoleResponsable, Establishments: []string{"350054680"},
		CapacitySource: domain.CapacitySourceBedManagement}, password); err != nil {
		t.Fatal(err)
	}
	if s.tokens["gam-35"], err = s.users.NewToken("gam-35"); err != nil {
		t.Fatal(err)
	}
	s.api("POST", "/units", "admin", map[string]string{"unit_id": "35-SSR-01", "finess": "350054680", "establishment": "CH", "department": "77",
		"type": "udm", "name": "UDM", "sync_id": "SSR38888"})
	s.api("POST", "/units/35-SSR-01/declarations", "gam-35", map[string]int{"available": 1, "installed": 10, "closed_places": 0})
	a := s.patch("/fhir/ws-synchro-dispo-lits-fhir/Location?identifier=1350054680/SSR38888", "gam-35", []byte(body))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["02"].n != 4 || caps["01"].n != 10 || caps["02"].source != "02" {
		t.Fatalf("the README's PATCH: %d %s", a.status, a.body)
	}
}

// A client that takes gzip gets the bundle gzipped; every interaction is
// measured by its kind, resource and status.
func TestAnswersAreGzippedAndMeasured(t *testing.T) {
	s := newSite(t)
	req, _ := http.NewRequest("GET", s.srv.URL+"/fhir/Location?_revinclude=HealthcareService:location", nil)
	req.Header.Set("Authorization", "Bearer "+s.tokens["clinicien"])
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("Content-Encoding %q, Vary %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	mustConform(t, body)
	s.get("/fhir/Location/uo-nulle-part", "clinicien")
	s.get("/fhir/metadata", "")
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "dispo_fhir_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			seen[l["interaction"]+" "+l["resource"]+" "+l["code"]] += m.GetHistogram().GetSampleCount()
		}
	}
	for _, want := range []string{"search Location 200", "read Location 404", "metadata CapabilityStatement 200"} {
		if seen[want] != 1 {
			t.Errorf("%s measured %d times; all: %v", want, seen[want], seen)
		}
	}
}

func linkOf(t *testing.T, a answer, rel string) string {
	t.Helper()
	for _, l := range list(a.json(t)["link"]) {
		if l := object(l); l["relation"] == rel {
			u, err := url.Parse(l["url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			return u.RequestURI()
		}
	}
	return ""
}

// Paging's edges, modifiers, and dates at every precision.
func TestSearchEdges(t *testing.T) {
	s := newSite(t)
	// _count=0: the total, and no page to go to.
	a := s.get("/fhir/Location?_count=0", "clinicien")
	if b := a.json(t); b["total"].(float64) != 4 || b["entry"] != nil || linkOf(t, a, "next") != "" {
		t.Fatalf("_count=0: %s", a.body)
	}
	// Walking forward then back gives the pages in order.
	first := s.get("/fhir/Location?_count=3", "clinicien")
	next := linkOf(t, first, "next")
	second := s.get(next, "clinicien")
	if got := ids(t, second); !slices.Equal(got, []string{"Location/uo-77-EG-04"}) || linkOf(t, second, "next") != "" {
		t.Fatalf("second page %v, next %q", got, linkOf(t, second, "next"))
	}
	if back := linkOf(t, second, "previous"); !slices.Equal(ids(t, s.get(back, "clinicien")), ids(t, first)) {
		t.Fatalf("previous of the second page is not the first")
	}
	// Past the end: no entry, no next; previous is the last page.
	beyond := s.get(strings.Replace(next, "_offset=3", "_offset=40", 1), "clinicien")
	if got := ids(t, beyond); len(got) != 0 || linkOf(t, beyond, "next") != "" || !strings.Contains(linkOf(t, beyond, "previous"), "_offset=1&") {
		t.Fatalf("beyond the end: %v, links %s", got, beyond.body)
	}
	// A position this server has not reached: 503, after waiting a little.
	if a := s.get(strings.Replace(next, "_position=", "_position=9", 1), "clinicien"); a.status != 503 {
		t.Fatalf("a page at a future position: %d %s", a.status, a.body)
	}
	// A modifier dispo does not know is refused, lenient or not: ignoring
	// it would answer another search.
	for _, q := range []string{"capacity-status:not=02", "identifier:missing=true", "_lastUpdated:missing=true"} {
		if a := s.get("/fhir/Location?"+q, "clinicien"); a.status != 400 || object(list(a.json(t)["issue"])[0])["code"] != "not-supported" {
			t.Errorf("Location?%s: %d %s", q, a.status, a.body)
		}
	}
	// Dates: a fraction is an instant; an unescaped + of a zone still reads.
	for q, want := range map[string]int{
		"capacity-update-date=2024-08-09T10:47:00.000000000Z": 3, // EG-01..03 declared exactly then
		"capacity-update-date=2024-08-09T10:47:00.5Z":         0,
		"capacity-update-date=2024-08-09T12:47:00+02:00":      3,
		"capacity-update-date=ge2025-03-06T15:30+01:00":       1,
		"_lastUpdated=2024-08":                                3,
		"_lastUpdated=ne2024":                                 1,
	} {
		if got := ids(t, s.get("/fhir/Location?"+q, "clinicien")); len(got) != want {
			t.Errorf("Location?%s: %v, want %d", q, got, want)
		}
	}
}

// Pools and the PATCH: a member that never declared starts from the
// pool's count; a member leaving moves the pool's lastUpdated forward.
func TestPoolsUnderPatchAndLastUpdated(t *testing.T) {
	s := newSite(t)
	s.api("POST", "/units", "admin", map[string]string{"unit_id": "77-EG-05", "finess": "770110054", "establishment": "EG", "department": "77",
		"type": "udm", "name": "UDM nouvelle", "sync_id": "UDM-05"})
	for _, u := range []string{"77-EG-01", "77-EG-05"} {
		s.api("PUT", "/units/"+u+"/pool", "admin", map[string]string{"pool": "P"})
	}
	s.api("POST", "/units/77-EG-01/declarations", "resp-eg", map[string]int{"available": 3, "installed": 20, "closed_places": 0})
	// §"add" (scenario 2): the new member's installed places alone.
	a := s.patch("/fhir/Location?identifier=1770110054/UDM-05", "gam-eg", patchBody(operation("add", addPath, indicator("01", "02", 10))))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["02"].n != 3 || caps["01"].n != 30 {
		t.Fatalf("add on a pooled unit that never declared: %d %+v; want the pool's 3 available kept, 30 installed", a.status, caps)
	}
	before := s.get("/fhir/Location/pool-P", "clinicien").json(t)
	was := object(before["meta"])["lastUpdated"].(string)
	time.Sleep(5 * time.Millisecond)
	s.api("DELETE", "/units/77-EG-05/pool", "admin", nil)
	after := s.get("/fhir/Location/pool-P", "clinicien").json(t)
	now := object(after["meta"])["lastUpdated"].(string)
	if now <= was {
		t.Fatalf("the pool's lastUpdated went from %s to %s when a member left", was, now)
	}
	if got := ids(t, s.get("/fhir/Location?_lastUpdated=gt"+url.QueryEscape(was), "clinicien")); !slices.Contains(got, "Location/pool-P") {
		t.Fatalf("_lastUpdated=gt%s misses the pool a member left: %v", was, got)
	}
}

// §"replace" with the national key's closing type: the closed places take
// the closing type declared, and a replace naming it finds them.
func TestPatchKeepsTheClosingType(t *testing.T) {
	s := newSite(t)
	s.api("PUT", "/units/77-EG-02", "admin", map[string]string{"finess": "770110054", "establishment": "EG", "department": "77",
		"type": "autodialyse", "name": "Auto dialyse", "sync_id": "AUTO-02"})
	target := "/fhir/Location?identifier=1770110054/AUTO-02"
	closed := func(closing string, n int) map[string]any {
		v := indicator("05", "02", n)
		v["extension"] = append(list(v["extension"]), coded("capacityClosingType", treURL("R333", "TypeFermetureCapacite"), closing, ""))
		return v
	}
	byClosing := func(closing string) string {
		return strings.TrimSuffix(replacePath("05"), ")") + " and extension.where(url = 'capacityClosingType' and valueCodeableConcept.coding.code = '" + closing + "'))"
	}
	// The seed's closed places are of no declared type: 03.
	a := s.patch(target, "gam-eg", patchBody(operation("replace", byClosing("03"), closed("01", 2))))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["05"].n != 2 || caps["05"].closing != "01" {
		t.Fatalf("replace of closed places (03) by 2 reactivable: %d %s", a.status, a.body)
	}
	if a := s.patch(target, "gam-eg", patchBody(operation("replace", byClosing("03"), closed("01", 1)))); a.status != 404 {
		t.Fatalf("replace naming the old closing type: %d %s", a.status, a.body)
	}
	a = s.patch(target, "gam-eg", patchBody(operation("replace", byClosing("01"), closed("01", 1))))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["05"].n != 1 || caps["05"].closing != "01" {
		t.Fatalf("replace naming the declared closing type: %d %s", a.status, a.body)
	}
	// Replacing the available places keeps the closed ones' type.
	a = s.patch(target, "gam-eg", patchBody(operation("replace", replacePath("02"), indicator("02", "02", 4))))
	if caps := capacities(t, a.json(t)); a.status != 200 || caps["05"].closing != "01" || caps["02"].n != 4 {
		t.Fatalf("replace of the available places: %d %s", a.status, a.body)
	}
}

// Readers and feeders at once, under the race detector in make test: the
// directory and answers kept per position never show a state older than
// the last acknowledged declaration.
func TestConcurrentReadsAndPatches(t *testing.T) {
	s := newSite(t)
	s.api("PUT", "/units/77-EG-02", "admin", map[string]string{"finess": "770110054", "establishment": "EG", "department": "77",
		"type": "autodialyse", "name": "Auto dialyse", "sync_id": "AUTO-02"})
	var acked atomic.Int64
	acked.Store(1) // the seed's
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := acked.Load()
				path := "/fhir/Location/uo-77-EG-02"
				if r%2 == 1 {
					path = "/fhir/Location?_id=uo-77-EG-02"
				}
				req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+s.tokens["clinicien"])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var m map[string]any
				json.Unmarshal(b, &m)
				if m["resourceType"] == "Bundle" {
					m = object(object(list(m["entry"])[0])["resource"])
				}
				// Figures only grow here: an answer below the last
				// acknowledged one is stale.
				var n int
				for _, e := range extensions(m["extension"], capURL) {
					if code := object(list(object(extensions(e["extension"], "capacityStatus")[0]["valueCodeableConcept"])["coding"])[0])["code"]; code == "02" {
						n = int(extensions(e["extension"], "nbCapacity")[0]["valueInteger"].(float64))
					}
				}
				if int64(n) < floor {
					errs <- fmt.Sprintf("%s showed %d available after %d was acknowledged", path, n, floor)
					return
				}
			}
		}()
	}
	for n := 2; n <= 17; n++ {
		a := s.patch("/fhir/Location?identifier=1770110054/AUTO-02", "gam-eg", patchBody(operation("replace", replacePath("02"), indicator("02", "02", n))))
		if a.status != 200 {
			t.Fatalf("patch %d: %d %s", n, a.status, a.body)
		}
		acked.Store(int64(n))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
