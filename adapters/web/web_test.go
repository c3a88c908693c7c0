package web_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// site is the service on a real bbolt file, the seed's log in it, served
// on 127.0.0.1 with the pages and the API together, as dispo serve does.
type site struct {
	t     *testing.T
	srv   *httptest.Server
	log   *boltlog.Log
	svc   *app.Service
	pw    string
	data  string
	users *userfile.Store
	reg   *prometheus.Registry
}

const password = "phrase de passe des essais"

func newSite(t *testing.T) *site { return newSiteAt(t, time.Now) }

// newSiteAt is newSite with the service's clock.
func newSiteAt(t *testing.T, now func() time.Time) *site {
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
	for _, u := range []userfile.User{
		{ID: "resp-eg", Role: domain.RoleResponsable, Establishments: []string{"770110054"}},
		{ID: "resp-ailleurs", Role: domain.RoleResponsable, Establishments: []string{"750000001"}},
		{ID: "clinicien", Role: domain.RoleProfessionnel},
		{ID: "analyste", Role: domain.RoleAnalyst},
		{ID: "nouvelle", Role: domain.RoleProfessionnel, MustChangePassword: true},
		{ID: "auditrice", Role: domain.RoleAuditor},
		{ID: "admin", Role: domain.RoleAdmin},
	} {
		if err := users.Add(u, password); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	svc, err := app.New(context.Background(), app.Config{Log: log, Users: users, DataDir: data, Now: now, Registry: reg, Support: "support ROR-IF, 01 23 45 67 89"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	s := &site{t: t, log: log, svc: svc, pw: password, data: data, users: users, reg: reg}
	s.srv = httptest.NewServer(svc.Handler())
	t.Cleanup(s.srv.Close)
	deadline := time.Now().Add(10 * time.Second)
	for !svc.Live().Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the projections did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	s *site
	c *http.Client
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) page {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.srv.URL+path, body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			b.s.t.Fatal(err)
		}
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		b.s.t.Fatal(err)
	}
	return page{res.StatusCode, res.Header, string(out)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil, nil) }

func (b *browser) login(id string) {
	b.s.t.Helper()
	p := b.do("POST", "/connexion", url.Values{"identifiant": {id}, "mot_de_passe": {b.s.pw}}, nil)
	if p.status != http.StatusSeeOther {
		b.s.t.Fatalf("login of %s: %d\n%s", id, p.status, p.body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the session's token, as the pages put it in their forms.
func (b *browser) csrf() string {
	b.s.t.Helper()
	m := csrfField.FindStringSubmatch(b.get("/disponibilites/consultation").body)
	if m == nil {
		b.s.t.Fatal("no CSRF token in the page")
	}
	return m[1]
}

func (s *site) head() uint64 {
	s.t.Helper()
	h, err := s.log.Head(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

func TestEveryPageHasTheSecurityHeaders(t *testing.T) {
	s := newSite(t)
	anon, clin := s.browser(), s.browser()
	clin.login("clinicien")
	for _, tc := range []struct {
		b    *browser
		path string
	}{
		{anon, "/connexion"}, {anon, "/cgu"}, {anon, "/nulle-part"}, {anon, "/disponibilites/consultation"},
		{clin, "/disponibilites/consultation"}, {clin, "/disponibilites/consultation/dialyse"}, {clin, "/recherche?q=auto"},
		{clin, "/uo/77-EG-01"}, {clin, "/disponibilites/structures"}, {clin, "/disponibilites/mise-a-jour"},
	} {
		p := tc.b.get(tc.path)
		csp := p.header.Get("Content-Security-Policy")
		if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", tc.path, csp)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", tc.path)
		}
		if strings.Contains(p.body, " style=") || regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(p.body) {
			t.Errorf("%s: inline style or script, which the policy refuses", tc.path)
		}
		if strings.Contains(p.body, s.pw) {
			t.Errorf("%s: the page holds a password", tc.path)
		}
	}
}

func TestLoginRedirectsWhereThePersonWasGoing(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	if p := b.get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/connexion" {
		t.Fatalf("GET / anonymous: %d %s", p.status, p.header.Get("Location"))
	}
	p := b.get("/disponibilites/consultation/dialyse?departement=77")
	want := "/connexion?suite=" + url.QueryEscape("/disponibilites/consultation/dialyse?departement=77")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		t.Fatalf("a page before login: %d %s, want %s", p.status, p.header.Get("Location"), want)
	}
	login := b.get(want)
	for _, s := range []string{"Identification", "Identifiant", "Mot de passe", "conditions générales d'utilisation", "support ROR-IF, 01 23 45 67 89"} {
		if !strings.Contains(login.body, s) {
			t.Errorf("the login page lacks %q", s)
		}
	}
	for _, tc := range []struct{ next, want string }{
		{"/disponibilites/consultation/dialyse?departement=77", "/disponibilites/consultation/dialyse?departement=77"},
		{"//autre.example/", "/disponibilites/consultation"},
		{"https://autre.example/", "/disponibilites/consultation"},
		{"/\\autre.example", "/disponibilites/consultation"},
		{"/\t/autre.example", "/disponibilites/consultation"}, // browsers drop tabs: //autre.example
		{"/\x00x", "/disponibilites/consultation"},
		{"/recherche?q=a%20b#x", "/recherche?q=a%20b"},
	} {
		b := s.browser()
		p := b.do("POST", "/connexion", url.Values{"identifiant": {"clinicien"}, "mot_de_passe": {s.pw}, "suite": {tc.next}}, nil)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != tc.want {
			t.Errorf("suite=%s: %d to %q, want %q", tc.next, p.status, p.header.Get("Location"), tc.want)
		}
	}
	// Wrong password: the form again, the message in French, no session.
	p = b.do("POST", "/connexion", url.Values{"identifiant": {"clinicien"}, "mot_de_passe": {"pas le bon"}}, nil)
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "identifiant ou mot de passe incorrect") || !strings.Contains(p.body, `value="clinicien"`) {
		t.Fatalf("bad password: %d\n%s", p.status, p.body)
	}
	if p := b.get("/disponibilites/consultation"); p.status != http.StatusSeeOther {
		t.Fatalf("after a failed login the consultation answers %d", p.status)
	}
	// Empty fields are named next to the field.
	p = b.do("POST", "/connexion", url.Values{"identifiant": {"clinicien"}}, nil)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="mot_de_passe-err">le mot de passe est obligatoire`) {
		t.Fatalf("no password: %d\n%s", p.status, p.body)
	}
	// A login posted from another site is refused before any check.
	p = b.do("POST", "/connexion", url.Values{"identifiant": {"clinicien"}, "mot_de_passe": {s.pw}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "autre site") {
		t.Fatalf("cross-site login: %d\n%s", p.status, p.body)
	}
}

func TestLoginThrottleIsShownInFrench(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	var p page
	for range 8 {
		p = b.do("POST", "/connexion", url.Values{"identifiant": {"clinicien"}, "mot_de_passe": {"toujours faux"}}, nil)
	}
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "trop d&#39;échecs de connexion") || p.header.Get("Retry-After") == "" {
		t.Fatalf("throttled login: %d %v\n%s", p.status, p.header, p.body)
	}
}

// refusedForms are posts that must append nothing.
func TestRefusedFormsAppendNothing(t *testing.T) {
	s := newSite(t)
	resp, other, clin := s.browser(), s.browser(), s.browser()
	resp.login("resp-eg")
	other.login("resp-ailleurs")
	clin.login("clinicien")
	token := resp.csrf()
	good := func(tok string) url.Values {
		return url.Values{"disponible": {"2"}, "installees": {"20"}, "fermees": {"0"}, "commentaire": {""}, "revision": {"2"}, "csrf_token": {tok}}
	}
	before := s.head()
	for _, tc := range []struct {
		name   string
		b      *browser
		form   url.Values
		status int
		says   string
	}{
		{"no CSRF token", resp, func() url.Values { f := good(""); f.Del("csrf_token"); return f }(), 403, "jeton de sécurité"},
		{"another session's token", resp, good(other.csrf()), 403, "jeton de sécurité"},
		{"not habilitated", other, good(other.csrf()), 403, "n&#39;est pas habilité"},
		{"a professionnel", clin, good(clin.csrf()), 403, "ne permet pas"},
		{"a word", resp, func() url.Values { f := good(token); f.Set("disponible", "deux"); return f }(), 422, "nombre entier"},
		{"more than installed", resp, func() url.Values { f := good(token); f.Set("disponible", "30"); return f }(), 422, "f-77-EG-01-disponible-err"},
		{"closed over installed", resp, func() url.Values { f := good(token); f.Set("fermees", "21"); return f }(), 422, "f-77-EG-01-fermees-err"},
		{"missing installed", resp, func() url.Values { f := good(token); f.Del("installees"); return f }(), 422, "obligatoire"},
		{"stale revision", resp, func() url.Values { f := good(token); f.Set("revision", "1"); return f }(), 409, "modifiée par quelqu&#39;un d&#39;autre"},
		{"no revision", resp, func() url.Values { f := good(token); f.Del("revision"); return f }(), 422, "révision manquante"},
	} {
		p := tc.b.do("POST", "/disponibilites/mise-a-jour/77-EG-01", tc.form, nil)
		if p.status != tc.status || !strings.Contains(p.body, tc.says) {
			t.Errorf("%s: %d, want %d saying %q\n%s", tc.name, p.status, tc.status, tc.says, p.body)
		}
		if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: answered %s, not a page", tc.name, p.header.Get("Content-Type"))
		}
	}
	if after := s.head(); after != before {
		t.Fatalf("refused forms moved the log from %d to %d", before, after)
	}
	// The same form, right, saves once and redirects to the row.
	p := resp.do("POST", "/disponibilites/mise-a-jour/77-EG-01", good(token), nil)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.header.Get("Location"), "#uo-77-EG-01") {
		t.Fatalf("save: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if after := s.head(); after != before+1 {
		t.Fatalf("a save appended %d events, want 1", after-before)
	}
	if page := resp.get(p.header.Get("Location")); !strings.Contains(page.body, `value="2"`) || !strings.Contains(page.body, "Enregistré.") {
		t.Fatalf("the page after the save does not show it:\n%s", page.body)
	}
}

func TestErrorPagesAreFrenchPagesAndTheAPIKeepsProblems(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("clinicien")
	p := b.get("/nulle-part")
	if p.status != 404 || !strings.Contains(p.body, "Page introuvable") || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("404 page: %d %s\n%s", p.status, p.header.Get("Content-Type"), p.body)
	}
	if p := b.get("/uo/inconnue"); p.status != 404 || !strings.Contains(p.body, "aucune UO") {
		t.Fatalf("unknown unit: %d", p.status)
	}
	if p := b.get("/disponibilites/mise-a-jour"); p.status != 403 || !strings.Contains(p.body, "Accès refusé") {
		t.Fatalf("Mise à jour for a professionnel: %d", p.status)
	}
	if p := b.get("/disponibilites/consultation/dialyse?departement=2A"); p.status != 400 || !strings.Contains(p.body, "département inconnu") {
		t.Fatalf("a department outside the region: %d", p.status)
	}
	if p := b.get("/disponibilites/consultation?at=hier"); p.status != 400 || !strings.Contains(p.body, "date et heure attendues") {
		t.Fatalf("a bad at: %d", p.status)
	}
	if p := b.get("/uo/77-EG-01?at=2999-01-01T00:00"); p.status != 400 || !strings.Contains(p.body, "dans le futur") {
		t.Fatalf("a unit in the future: %d", p.status)
	}
	api := b.get("/api/v1/nulle-part")
	if api.status != 404 || api.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("API 404: %d %s", api.status, api.header.Get("Content-Type"))
	}
	// A form without its token, on a page path: a page; on the API: a problem.
	if p := b.do("POST", "/disponibilites/mise-a-jour/77-EG-01", url.Values{}, nil); p.status != 403 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page post without token: %d %s", p.status, p.header.Get("Content-Type"))
	}
	if p := b.do("POST", "/api/v1/units/77-EG-01/declarations", url.Values{}, nil); p.status != 403 || p.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("API post without token: %d %s", p.status, p.header.Get("Content-Type"))
	}
}

func TestAnswersAreCompressedAndAssetsKept(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("clinicien")
	p := b.do("GET", "/disponibilites/consultation/dialyse", nil, map[string]string{"Accept-Encoding": "gzip"})
	if p.header.Get("Content-Encoding") != "gzip" || p.header.Get("Content-Length") == "" || !strings.Contains(p.body, "Département 77") {
		t.Fatalf("detail page: encoding %q length %q", p.header.Get("Content-Encoding"), p.header.Get("Content-Length"))
	}
	css := regexp.MustCompile(`href="(/static/[0-9a-f]+/dispo\.css)"`).FindStringSubmatch(p.body)
	if css == nil {
		t.Fatal("no style sheet link")
	}
	a := b.get(css[1])
	if a.status != 200 || !strings.Contains(a.header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(a.header.Get("Content-Type"), "text/css") {
		t.Fatalf("style sheet: %d %v", a.status, a.header)
	}
	if stale := b.get("/static/000000000000/dispo.css"); stale.status != 404 {
		t.Fatalf("an asset at another digest: %d", stale.status)
	}
	// The live script asks for the main element alone.
	part := b.do("GET", "/disponibilites/consultation", nil, map[string]string{"X-Dispo-Partial": "1"})
	if !strings.HasPrefix(strings.TrimSpace(part.body), "<main") || strings.Contains(part.body, "<html") {
		t.Fatalf("partial answer:\n%s", part.body)
	}
}

func TestLiveStreamTellsEachMove(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("clinicien")
	req, _ := http.NewRequest("GET", s.srv.URL+"/flux", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(res.Body)
	next := func() string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "data: ") {
				return strings.TrimPrefix(l, "data: ")
			}
		}
		t.Fatalf("the stream ended: %v", lines.Err())
		return ""
	}
	if got := next(); got != "14" {
		t.Fatalf("first position %s, want the seed's 14", got)
	}
	resp := s.browser()
	resp.login("resp-eg")
	form := url.Values{"disponible": {"3"}, "installees": {"18"}, "fermees": {"0"}, "commentaire": {""}, "revision": {"4"}, "csrf_token": {resp.csrf()}}
	if p := resp.do("POST", "/disponibilites/mise-a-jour/77-EG-02", form, nil); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", p.status, p.body)
	}
	if got := next(); got != "15" {
		t.Fatalf("after a save the stream said %s, want 15", got)
	}
	if n := s.svc.Pages().Streams(); n != 1 {
		t.Fatalf("%d streams open, want 1", n)
	}
	// A server shutting down ends its streams, or it would wait for them.
	s.svc.Pages().EndStreams()
	ended := make(chan struct{})
	go func() {
		for lines.Scan() {
		}
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("EndStreams left the stream open")
	}
}

func TestTrendsPage(t *testing.T) {
	s := newSite(t)
	ana, clin := s.browser(), s.browser()
	ana.login("analyste")
	clin.login("clinicien")
	if p := clin.get("/tendances"); p.status != 403 {
		t.Fatalf("a professionnel opens the trends: %d", p.status)
	}
	// The seed's week of 5 August 2024: six declarations by the three units
	// then registered; the next week, none.
	p := ana.get("/tendances?from=2024-W32&to=2024-W33")
	if p.status != 200 {
		t.Fatalf("trends: %d\n%s", p.status, p.body)
	}
	rows := regexp.MustCompile(`<tr><th scope="row">(2024-W3[23])</th>(?:<td class="nombre">([^<]*)</td>){5}</tr>`).FindAllStringSubmatch(p.body, -1)
	cells := regexp.MustCompile(`<td class="nombre">([^<]*)</td>`)
	var got []string
	for _, r := range rows {
		var c []string
		for _, m := range cells.FindAllStringSubmatch(r[0], -1) {
			c = append(c, m[1])
		}
		got = append(got, r[1]+" "+strings.Join(c[2:], " | "))
	}
	want := []string{"2024-W32 6 | 3 / 3 | 100,0 %", "2024-W33 0 | 0 / 3 | 0,0 %"}
	if !slices.Equal(got, want) {
		t.Fatalf("weeks %q, want %q", got, want)
	}
	for _, s := range []string{`<svg class="graphique"`, "<polyline", "Unités sans déclaration la semaine 2024-W33", "/uo/77-EG-01", "/uo/77-EG-03"} {
		if !strings.Contains(p.body, s) {
			t.Errorf("the trends page lacks %q", s)
		}
	}
	csv := ana.get("/tendances/manquements.csv?from=2024-W32&to=2024-W33")
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(csv.body, "\uFEFF")), "\r\n")
	if csv.header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 4 || !strings.HasPrefix(lines[1], "2024-W33;non;770110054;EG;77;77-EG-01;") {
		t.Fatalf("missed CSV %s:\n%s", csv.header.Get("Content-Type"), csv.body)
	}
	if p := ana.get("/tendances?from=2024-W40&to=2024-W30"); p.status != 400 || !strings.Contains(p.body, "est après") {
		t.Fatalf("a range backwards: %d", p.status)
	}
}

func TestFirstLoginAsksForOwnPassword(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	p := b.do("POST", "/connexion", url.Values{"identifiant": {"nouvelle"}, "mot_de_passe": {s.pw}, "suite": {"/recherche"}}, nil)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/recherche" {
		t.Fatalf("login: %d %s", p.status, p.header.Get("Location"))
	}
	p = b.get("/recherche")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/compte?suite=%2Frecherche" {
		t.Fatalf("a page before the password is chosen: %d %s", p.status, p.header.Get("Location"))
	}
	account := b.get("/compte?suite=%2Frecherche")
	if !strings.Contains(account.body, "Choisissez votre mot de passe") {
		t.Fatalf("the account page does not ask:\n%s", account.body)
	}
	token := csrfField.FindStringSubmatch(account.body)[1]
	change := func(current, next, confirm string) page {
		return b.do("POST", "/compte", url.Values{"mot_de_passe_actuel": {current}, "nouveau_mot_de_passe": {next}, "confirmation": {confirm},
			"suite": {"/recherche"}, "csrf_token": {token}}, nil)
	}
	mine := "ma propre phrase de passe, bien longue"
	for _, tc := range []struct{ current, next, confirm, field, says string }{
		{"pas le bon", mine, mine, "mot_de_passe_actuel", "pas votre mot de passe actuel"},
		{s.pw, mine, mine + "!", "confirmation", "ne reprend pas"},
		{s.pw, "court", "court", "nouveau_mot_de_passe", "12"},
		{s.pw, s.pw, s.pw, "nouveau_mot_de_passe", "différer"},
	} {
		p := change(tc.current, tc.next, tc.confirm)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="`+tc.field+`-err">`) || !strings.Contains(p.body, tc.says) {
			t.Errorf("change %q→%q: %d, want the error at %s saying %q\n%s", tc.current, tc.next, p.status, tc.field, tc.says, p.body)
		}
	}
	p = change(s.pw, mine, mine)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/recherche" {
		t.Fatalf("change: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if c := strings.Join(p.header.Values("Set-Cookie"), " "); !regexp.MustCompile(`dispo_device=[^;]+; Path=/connexion;`).MatchString(c) {
		t.Fatalf("the new login's device cookie is not for the login page: %s", c)
	}
	if p := b.get("/recherche"); p.status != 200 {
		t.Fatalf("after the change, the page answers %d (the session should go on)", p.status)
	}
	other := s.browser()
	if p := other.do("POST", "/connexion", url.Values{"identifiant": {"nouvelle"}, "mot_de_passe": {s.pw}}, nil); p.status != http.StatusUnauthorized {
		t.Fatalf("the administrator's password still logs in: %d", p.status)
	}
	s.pw = mine
	other.login("nouvelle")
	if p := other.get("/recherche"); p.status != 200 {
		t.Fatalf("with the new password: %d", p.status)
	}
}

func TestDisplayLink(t *testing.T) {
	s := newSite(t)
	tok, err := s.users.NewToken("clinicien")
	if err != nil {
		t.Fatal(err)
	}
	screen := s.browser() // no login: the link is the credential
	base := "/affichage/" + tok
	p := screen.get(base)
	if p.status != 200 || !strings.Contains(p.body, "Affichage en lecture seule — clinicien") || !strings.Contains(p.body, `data-live="`+base+`/flux"`) {
		t.Fatalf("display: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "/deconnexion") || strings.Contains(p.body, "/disponibilites/") || strings.Contains(p.body, "Mise à jour") {
		t.Fatal("the display offers more than the consultation")
	}
	if !strings.Contains(p.body, `href="`+base+`/dialyse?departement=77"`) {
		t.Fatal("the display's matrix does not link to its own detail")
	}
	d := screen.get(base + "/dialyse?departement=77")
	if d.status != 200 || !strings.Contains(d.body, "Département 77") || strings.Contains(d.body, `href="/uo/`) {
		t.Fatalf("display detail: %d (unit links must not be there)\n%s", d.status, d.body)
	}
	if p := screen.get(base + "?at=2025-03-01T12:00"); p.status != 400 {
		t.Fatalf("a display link asked for the past: %d", p.status)
	}
	if p := screen.get("/disponibilites/consultation"); p.status != http.StatusSeeOther {
		t.Fatalf("the display link opened a session: %d", p.status)
	}
	analyst, _ := s.users.NewToken("analyste")
	if p := screen.get("/affichage/" + analyst); p.status != 403 {
		t.Fatalf("an analyst's token as a display link: %d", p.status)
	}
	// A stream of the link ends once the link is revoked.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.srv.URL+base+"/flux", nil)
	res, err := screen.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if line, _ := br.ReadString('\n'); line != "retry: 2000\n" {
		t.Fatalf("stream starts with %q", line)
	}
	if _, err := s.users.RevokeTokens("clinicien"); err != nil {
		t.Fatal(err)
	}
	if p := screen.get(base); p.status != 404 || !strings.Contains(p.body, "n&#39;est pas valable") {
		t.Fatalf("a revoked link: %d", p.status)
	}
	resp := s.browser()
	resp.login("resp-eg")
	form := url.Values{"disponible": {"3"}, "installees": {"18"}, "fermees": {"0"}, "commentaire": {""}, "revision": {"4"}, "csrf_token": {resp.csrf()}}
	if p := resp.do("POST", "/disponibilites/mise-a-jour/77-EG-02", form, nil); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d", p.status)
	}
	rest, err := io.ReadAll(br)
	if err != nil || strings.Contains(string(rest), "data: 15") {
		t.Fatalf("the revoked link's stream went on: %q, %v", rest, err)
	}
}

// The detail kept by the cache is rendered again when a band it shows
// changes with the clock, though the log did not move.
func TestCachedPagesAgeWithTheClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 3, 6, 14, 40, 0, 0, time.UTC) // 10 min after the seed's last declaration
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newSiteAt(t, clock)
	b := s.browser()
	tok, err := s.users.NewToken("clinicien") // a session would end, idle, as the clock moves
	if err != nil {
		t.Fatal(err)
	}
	band := func() string {
		p := b.do("GET", "/disponibilites/consultation/dialyse?departement=77", nil, map[string]string{"Authorization": "Bearer " + tok})
		m := regexp.MustCompile(`class="etat (b\d)[^"]*" data-at="2025-03-06T14:30:00Z"`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no line declared at 14:30:\n%s", p.body)
		}
		return m[1]
	}
	if got := band(); got != "b0" {
		t.Fatalf("10 minutes after: band %s, want b0 (< 1 h)", got)
	}
	if got := band(); got != "b0" { // from the cache
		t.Fatalf("again: band %s", got)
	}
	mu.Lock()
	now = now.Add(50 * time.Minute)
	mu.Unlock()
	if got := band(); got != "b1" {
		t.Fatalf("an hour after: band %s, want b1 (< 3 h): the cache kept a page past its band", got)
	}
}

// Pages kept by the cache are served past the same checks as the first time.
func TestRolesOpenTheirPagesOnly(t *testing.T) {
	s := newSite(t)
	aud, clin, adm, other := s.browser(), s.browser(), s.browser(), s.browser()
	aud.login("auditrice")
	clin.login("clinicien")
	adm.login("admin")
	other.login("resp-ailleurs")
	p := aud.get("/historique?q=dialyse")
	if p.status != 200 || !strings.Contains(p.body, `href="/uo/77-EG-01#historique"`) || !strings.Contains(p.body, `href="/historique"`) {
		t.Fatalf("history for an auditor: %d\n%s", p.status, p.body)
	}
	if p := clin.get("/historique?q=dialyse"); p.status != 403 {
		t.Fatalf("history for a professionnel, after an auditor's visit: %d", p.status)
	}
	if strings.Contains(clin.get("/disponibilites/consultation").body, `href="/historique"`) {
		t.Fatal("a professionnel's navigation offers the history")
	}
	a := adm.get("/administration")
	if a.status != 200 || !strings.Contains(a.body, "resp-eg") || !strings.Contains(a.body, "770110054 (EG)") || !strings.Contains(a.body, "à choisir à la première connexion") {
		t.Fatalf("administration: %d\n%s", a.status, a.body)
	}
	if strings.Contains(a.body, "argon2") || strings.Contains(a.body, s.pw) {
		t.Fatal("the administration page shows a secret")
	}
	for _, b := range []*browser{aud, clin, other} {
		if p := b.get("/administration"); p.status != 403 {
			t.Fatalf("administration for another role: %d", p.status)
		}
	}
	// A responsable sees the rows of its own establishments only.
	if p := other.get("/disponibilites/mise-a-jour"); p.status != 200 || strings.Contains(p.body, "77-EG-01") || !strings.Contains(p.body, "Aucune unité ne vous est rattachée") {
		t.Fatalf("another establishment's responsable: %d\n%s", p.status, p.body)
	}
	if p := other.get("/disponibilites/mise-a-jour/77-EG-01/fermeture"); p.status != 403 {
		t.Fatalf("another establishment's closure form: %d", p.status)
	}
}

// Until the projections caught up, pages answer a French 503 that reloads
// itself; the probes still answer.
func TestPagesWaitForTheProjections(t *testing.T) {
	data := t.TempDir()
	log, err := boltlog.Open(filepath.Join(data, "events.db"), boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	users, err := userfile.Open(filepath.Join(data, "users.json"), userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Add(userfile.User{ID: "clinicien", Role: domain.RoleProfessionnel}, password); err != nil {
		t.Fatal(err)
	}
	svc, err := app.New(context.Background(), app.Config{Log: log, Users: users, DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close() // never Run: the projections do not follow the log
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	s := &site{t: t, srv: srv, log: log, svc: svc, pw: password, users: users}
	b := s.browser()
	b.login("clinicien") // logging in needs no projection
	p := b.get("/disponibilites/consultation")
	if p.status != 503 || !strings.Contains(p.body, `<meta http-equiv="refresh" content="5">`) || !strings.Contains(p.body, "rattrape") || p.header.Get("Retry-After") == "" {
		t.Fatalf("before the projections: %d %v\n%s", p.status, p.header, p.body)
	}
}

// Mon compte checks the current password under the login throttle: a
// stolen session cannot guess it faster than the login page allows.
func TestAccountPageIsThrottled(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("clinicien")
	token := b.csrf()
	var p page
	for range 8 {
		p = b.do("POST", "/compte", url.Values{"mot_de_passe_actuel": {"une devinette de plus"}, "nouveau_mot_de_passe": {"une phrase toute neuve ici"},
			"confirmation": {"une phrase toute neuve ici"}, "csrf_token": {token}}, nil)
	}
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "trop d&#39;essais de mot de passe") || p.header.Get("Retry-After") == "" {
		t.Fatalf("the 8th wrong password: %d %v\n%s", p.status, p.header, p.body)
	}
	// Even the right password waits now: the throttle did not run the check.
	p = b.do("POST", "/compte", url.Values{"mot_de_passe_actuel": {s.pw}, "nouveau_mot_de_passe": {"une phrase toute neuve ici"},
		"confirmation": {"une phrase toute neuve ici"}, "csrf_token": {token}}, nil)
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("the right password while throttled: %d", p.status)
	}
	if _, err := s.users.Authenticate("clinicien", s.pw); err != nil {
		t.Fatalf("the password changed while throttled: %v", err)
	}
}

// A logged-in person's live stream ends once the session does.
func TestLiveStreamEndsWithTheSession(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("clinicien")
	token := b.csrf()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.srv.URL+"/flux", nil)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if line, _ := br.ReadString('\n'); line != "retry: 2000\n" {
		t.Fatalf("stream starts with %q", line)
	}
	if p := b.do("POST", "/deconnexion", url.Values{"csrf_token": {token}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	resp := s.browser()
	resp.login("resp-eg")
	form := url.Values{"disponible": {"3"}, "installees": {"18"}, "fermees": {"0"}, "commentaire": {""}, "revision": {"4"}, "csrf_token": {resp.csrf()}}
	if p := resp.do("POST", "/disponibilites/mise-a-jour/77-EG-02", form, nil); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d", p.status)
	}
	rest, err := io.ReadAll(br)
	if err != nil || strings.Contains(string(rest), "data: 15") {
		t.Fatalf("the stream went on after the logout: %q, %v", rest, err)
	}
}

// A form that lacks the comment field leaves the comment as it is.
func TestSaveWithoutCommentFieldKeepsTheComment(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("resp-eg")
	token := b.csrf()
	save := func(rev string, comment *string) {
		t.Helper()
		f := url.Values{"disponible": {"1"}, "installees": {"18"}, "revision": {rev}, "csrf_token": {token}}
		if comment != nil {
			f.Set("commentaire", *comment)
		}
		if p := b.do("POST", "/disponibilites/mise-a-jour/77-EG-02", f, nil); p.status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", p.status, p.body)
		}
	}
	c := "1 place le 11/03 à 10h"
	save("4", &c)
	rev := regexp.MustCompile(`action="/disponibilites/mise-a-jour/77-EG-02"><input type="hidden" name="csrf_token" value="[^"]+"><input type="hidden" name="revision" value="(\d+)"`).FindStringSubmatch(b.get("/disponibilites/mise-a-jour").body)
	save(rev[1], nil)
	if p := b.get("/uo/77-EG-02"); !strings.Contains(p.body, "<dt>Commentaire</dt><dd>1 place le 11/03 à 10h") {
		t.Fatalf("a form without the comment field cleared it:\n%s", p.body)
	}
}

func TestPagesAreMeasured(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("clinicien")
	b.get("/disponibilites/consultation/dialyse?departement=77")
	b.get("/uo/inconnue")
	families, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]uint64{}
	streams := false
	for _, f := range families {
		switch f.GetName() {
		case "dispo_page_duration_seconds":
			for _, m := range f.GetMetric() {
				l := map[string]string{}
				for _, p := range m.GetLabel() {
					l[p.GetName()] = p.GetValue()
				}
				seen[l["route"]+" "+l["code"]] += m.GetHistogram().GetSampleCount()
			}
		case "dispo_live_streams":
			streams = true
		}
	}
	if seen["GET /disponibilites/consultation/{categorie} 200"] != 1 || seen["GET /uo/{id} 404"] != 1 || seen["POST /connexion 303"] != 1 || !streams {
		t.Fatalf("page metrics %v, live streams gauge %v", seen, streams)
	}
}

// The unit page shows its synchronisation id, and its history says which
// declarations a program made, and what program it is.
func TestUnitPageShowsSyncIDAndProgramDeclarations(t *testing.T) {
	s := newSite(t)
	if err := s.users.Add(userfile.User{ID: "gam-eg", Role: domain.RoleResponsable, Establishments: []string{"770110054"}, CapacitySource: domain.CapacitySourceGAM}, password); err != nil {
		t.Fatal(err)
	}
	token := func(id string) string {
		tok, err := s.users.NewToken(id)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	call := func(tok, method, path, body string) {
		req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	call(token("admin"), "PUT", "/api/v1/units/77-EG-01", `{"finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"Unité de dialyse médicalisée","sync_id":"DIA-01"}`)
	call(token("gam-eg"), "POST", "/api/v1/units/77-EG-01/declarations", `{"available":2,"installed":20,"closed_places":0}`)
	deadline := time.Now().Add(5 * time.Second)
	for s.svc.Live().Position() < s.head() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b := s.browser()
	b.login("auditrice")
	p := b.get("/uo/77-EG-01")
	for _, want := range []string{"<dt>Identifiant de synchronisation (ROR)</dt><dd><code>1770110054/DIA-01</code></dd>", "API — logiciel : gestion administrative des malades (03)"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the unit page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, "logiciel :"); n != 1 {
		t.Errorf("%d declarations said to come from a program, want 1 (the seed's are people's)", n)
	}
}
