package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive Debian's chromium, headless, against a real
// `dispo serve` child process on 127.0.0.1:0. make test installs chromium;
// DISPO_CHROMIUM names another binary.

// chromiumPath is the browser the tests drive; the test fails (it never
// skips) when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DISPO_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium to drive: run `make test`, which installs it (apt-get install -y chromium), or set DISPO_CHROMIUM")
	return ""
}

// newBrowser starts a browser of its own (its own profile, so its own
// cookies: another person) and returns its first tab.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// run runs steps with a deadline, failing the test with what was asked.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(t, ctx, what, chromedp.Steps(steps...))
}

// get runs an action with a deadline and returns its value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		url, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (page %s)", what, err, url)
	}
	return v
}

// served is a dispo serve child on the seed's log, with its accounts.
type served struct {
	child   *child
	data    string
	base    string
	pw      map[string]string
	display string // a display link's path
}

func serveSeed(t *testing.T) *served {
	t.Helper()
	data := t.TempDir()
	mustDispo(t, "import", "--data", data, fixtures+"seed-77.jsonl")
	s := &served{pw: map[string]string{}}
	for _, u := range []struct{ id, role, est string }{
		{"resp-eg", "responsable", "770110054"},
		{"resp-eg-2", "responsable", "770110054"},
		{"clinicien", "professionnel", ""},
		{"auditeur", "auditor", ""},
		{"analyste", "analyst", ""},
		{"admin", "admin", ""},
	} {
		pw := "phrase de passe des tests numéro " + strconv.Itoa(len(s.pw)+1)
		args := []string{"users", "add", u.id, "--role", u.role, "--data", data, "--keep-password"}
		if u.est != "" {
			args = append(args, "--establishment", u.est)
		}
		mustDispoIn(t, pw+"\n", args...)
		s.pw[u.id] = pw
	}
	s.display = strings.TrimSpace(mustDispo(t, "users", "token", "clinicien", "--display", "--data", data))
	c, err := startChild(filepath.Join(data, "serve.log"), "serve", "--data", data, "--addr", "127.0.0.1:0", "--metrics-addr", "off",
		"--support", "support ROR-IF, 01 23 45 67 89")
	if err != nil {
		t.Fatal(err)
	}
	s.child, s.data = c, data
	t.Cleanup(func() {
		if err := s.child.stop(10 * time.Second); err != nil {
			t.Errorf("dispo serve: %v", err)
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(data, "serve.log"))
			t.Logf("serve log:\n%s", b)
		}
	})
	s.base = c.base
	return s
}

func (s *served) login(t *testing.T, ctx context.Context, id, next string) {
	t.Helper()
	run(t, ctx, "login as "+id,
		chromedp.Navigate(s.base+next),
		chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), id),
		chromedp.SendKeys(chromedp.ID("mot_de_passe"), s.pw[id]),
		chromedp.Submit(chromedp.ID("mot_de_passe")),
		chromedp.WaitVisible(chromedp.CSS(".session")), // only a logged-in page has it
	)
	if path := get(t, ctx, "location", chromedp.Evaluate[string](`location.pathname + location.search`)); path != next {
		t.Fatalf("after the login of %s the browser is at %s, want %s", id, path, next)
	}
}

// tableRowsJS reads the rows of the table under the h2 named by its
// argument, each as its cells' text (a link's or a time's when there is one).
const tableRowsJS = `(function (heading) {
  var h = Array.from(document.querySelectorAll('h2')).find(function (e) { return e.textContent.trim() === heading; });
  if (!h) return null;
  return Array.from(h.parentElement.querySelectorAll('tbody tr')).map(function (tr) {
    return Array.from(tr.children).map(function (c) {
      var t = c.querySelector('time');
      var a = c.querySelector('a');
      return (t ? t.textContent : a ? a.textContent : c.textContent).trim();
    });
  });
})`

func rowsUnder(t *testing.T, ctx context.Context, heading string) [][]string {
	t.Helper()
	return get(t, ctx, "rows under "+heading, chromedp.Evaluate[[][]string](tableRowsJS+"("+strconv.Quote(heading)+")"))
}

// screenshot saves the page in DISPO_SCREENS, when set (make test sets it
// to test-artefacts/screens).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DISPO_SCREENS")
	if dir == "" {
		return
	}
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The seed's department-77 table, as the guide shows it.
var seedRows = [][]string{
	{"EG", "Unité de dialyse médicalisée", "0 / 20", "12:47 le 09/08/2024", ""},
	{"EG", "Auto dialyse", "1 / 18", "12:47 le 09/08/2024", ""},
	{"EG", "Centre Lourd", "0 / 24", "12:47 le 09/08/2024", ""},
	{"EG", "Unité de dialyse médicalisée", "0 / 0", "15:30 le 06/03/2025", ""},
}

const detail77 = "/disponibilites/consultation/dialyse?departement=77"

// save submits a Mise à jour row.
func saveRow(unit string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS("#uo-" + unit + " button[type=submit]"))
}

func TestBrowserFlows(t *testing.T) {
	s := serveSeed(t)
	resp := newBrowser(t, 1280, 900)
	clin := newBrowser(t, 1280, 900)

	// The clinician logs in with the keyboard alone, the focus visible at
	// each step; then sees the seed's table and leaves the page open.
	run(t, clin, "login page", chromedp.Navigate(s.base+detail77), chromedp.WaitVisible(chromedp.ID("identifiant")))
	focusOn := func(id string) {
		t.Helper()
		for range 12 {
			run(t, clin, "tab", chromedp.KeyEvent(kb.Tab))
			at := get(t, clin, "focus", chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.tagName`))
			if at == id {
				outline := get(t, clin, "outline", chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`))
				if outline == "none" {
					t.Fatalf("the focus on #%s is not visible", id)
				}
				return
			}
		}
		t.Fatalf("12 tabs never reached #%s", id)
	}
	focusOn("identifiant")
	run(t, clin, "type the identifier", chromedp.KeyEvent("clinicien"))
	focusOn("mot_de_passe")
	run(t, clin, "type the password and Enter", chromedp.KeyEvent(s.pw["clinicien"]+kb.Enter), chromedp.WaitVisible(chromedp.CSS(".session")))
	if path := get(t, clin, "location", chromedp.Evaluate[string](`location.pathname + location.search`)); path != detail77 {
		t.Fatalf("after the keyboard login the browser is at %s", path)
	}
	if got := rowsUnder(t, clin, "Département 77"); !slices.EqualFunc(got, seedRows, slices.Equal) {
		t.Fatalf("Département 77 lists\n%q\nwant\n%q", got, seedRows)
	}
	screenshot(t, clin, "detail-77")
	get(t, clin, "mark the page", chromedp.Evaluate[bool](`window.notReloaded = true`))

	// The responsable declares through the Mise à jour row of Auto dialyse.
	s.login(t, resp, "resp-eg", "/disponibilites/mise-a-jour")
	screenshot(t, resp, "mise-a-jour")
	run(t, resp, "declare",
		chromedp.SetValue(chromedp.ID("f-77-EG-02-disponible"), "5"),
		saveRow("77-EG-02"),
		chromedp.WaitVisible(chromedp.CSS("#uo-77-EG-02 .succes")),
	)

	// The clinician's page shows it without reloading.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := rowsUnder(t, clin, "Département 77")
		if len(got) == 4 && got[1][2] == "5 / 18" {
			if got[1][3] == seedRows[1][3] {
				t.Fatalf("the declaration's time did not change: %q", got[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the open detail page did not show the declaration within 5 s: %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !get(t, clin, "reloaded?", chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Fatal("the detail page reloaded instead of updating in place")
	}
	// Its colours age in place: two hours later, the fresh line is "< 3 h".
	const etat = `document.querySelectorAll('#dep-77 ~ .tableau tbody tr')[1].querySelector('.etat')`
	if c := get(t, clin, "band now", chromedp.Evaluate[string](etat+`.className`)); !strings.Contains(c, "b0") {
		t.Fatalf("the line just declared is in %q, want b0", c)
	}
	got := get(t, clin, "band later", chromedp.Evaluate[string](`(function () {
  var now = Date.now();
  Date.now = function () { return now + 2 * 3600 * 1000; };
  document.dispatchEvent(new Event('visibilitychange'));
  var e = `+etat+`;
  return e.className + ' | ' + e.querySelector('.bande').textContent + ' | ' + e.title;
})()`))
	if !strings.Contains(got, "b1") || !strings.Contains(got, "< 3 h") || !strings.Contains(got, "moins de 3 heures") {
		t.Fatalf("two hours later the line shows %q, want band b1 (< 3 h)", got)
	}

	// Printed, the detail keeps its tables and legends, without navigation or forms.
	if _, err := chromedp.Call(clin, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	printed := get(t, clin, "print", chromedp.Evaluate[string](`['.bandeau nav', '.filtres', '#dep-77', '.legendes', '.etat'].map(function (q) {
  return q + '=' + getComputedStyle(document.querySelector(q)).display;
}).join(' ')`))
	if printed != ".bandeau nav=none .filtres=none #dep-77=block .legendes=block .etat=table-cell" {
		t.Fatalf("printed: %s", printed)
	}
	if _, err := chromedp.Call(clin, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""}); err != nil {
		t.Fatal(err)
	}

	// Bad figures: a French error next to the field, nothing saved.
	position := func(ctx context.Context) string {
		run(t, ctx, "load", chromedp.Navigate(s.base+"/disponibilites/mise-a-jour"))
		return get(t, ctx, "position", chromedp.AttributeValue(chromedp.ID("contenu"), "data-position")).Value
	}
	before := position(resp)
	for _, tc := range []struct{ field, value, message string }{
		{"disponible", "abc", "doit être un nombre entier"},
		{"disponible", "30", "disponibles"},
		{"fermees", "-2", "ne peut pas être négatif"},
	} {
		id := "f-77-EG-02-" + tc.field
		run(t, resp, "bad "+tc.field,
			chromedp.Navigate(s.base+"/disponibilites/mise-a-jour"),
			chromedp.SetValue(chromedp.ID(id), tc.value),
			saveRow("77-EG-02"),
			chromedp.WaitVisible(chromedp.ID(id+"-err")),
		)
		if msg := get(t, resp, "error", chromedp.Text(chromedp.ID(id+"-err"))); !strings.Contains(msg, tc.message) {
			t.Errorf("%s=%s: error %q, want it to say %q", tc.field, tc.value, msg, tc.message)
		}
		if v := get(t, resp, "aria-invalid", chromedp.AttributeValue(chromedp.ID(id), "aria-invalid")).Value; v != "true" {
			t.Errorf("%s=%s: the field is not marked invalid", tc.field, tc.value)
		}
		if v := get(t, resp, "value kept", chromedp.Value(chromedp.ID(id))); v != tc.value {
			t.Errorf("%s=%s: the form shows %q, not what was typed", tc.field, tc.value, v)
		}
		if tc.value == "abc" {
			screenshot(t, resp, "mise-a-jour-erreur")
		}
	}
	if after := position(resp); after != before {
		t.Fatalf("refused saves moved the log from %s to %s", before, after)
	}

	// Closing a unit blocks its row; Rouvrir gives it back.
	run(t, resp, "close Centre Lourd",
		chromedp.Navigate(s.base+"/disponibilites/mise-a-jour/77-EG-03/fermeture"),
		chromedp.SendKeys(chromedp.ID("motif"), "panne du traitement d'eau"),
		chromedp.Submit(chromedp.ID("motif")),
		chromedp.WaitVisible(chromedp.CSS("#uo-77-EG-03 .marque-fermee")),
	)
	if n := get(t, resp, "blocked row", chromedp.Evaluate[int](`document.querySelectorAll('#uo-77-EG-03 input[type=text]').length`)); n != 0 {
		t.Fatalf("the closed unit's row still has %d inputs", n)
	}
	screenshot(t, resp, "mise-a-jour-fermee")
	run(t, resp, "reopen", saveRow("77-EG-03"), chromedp.WaitVisible(chromedp.ID("f-77-EG-03-disponible")))

	// Two people save the same row: the second is told, and sees the figures.
	other := newBrowser(t, 1280, 900)
	s.login(t, other, "resp-eg-2", "/disponibilites/mise-a-jour")
	run(t, resp, "first save",
		chromedp.Navigate(s.base+"/disponibilites/mise-a-jour"),
		chromedp.SetValue(chromedp.ID("f-77-EG-01-disponible"), "4"),
		saveRow("77-EG-01"),
		chromedp.WaitVisible(chromedp.CSS("#uo-77-EG-01 .succes")),
	)
	run(t, other, "second save",
		chromedp.SetValue(chromedp.ID("f-77-EG-01-disponible"), "7"),
		saveRow("77-EG-01"),
		chromedp.WaitVisible(chromedp.ID("msg-77-EG-01")),
	)
	told := get(t, other, "told", chromedp.Text(chromedp.ID("msg-77-EG-01")))
	shown := get(t, other, "shown", chromedp.Value(chromedp.ID("f-77-EG-01-disponible")))
	if !strings.Contains(told, "modifiée par quelqu'un d'autre") || shown != "4" {
		t.Fatalf("the second save was told %q and shown %q, want the conflict and the first save's 4", told, shown)
	}

	// The consultation works with JavaScript off.
	if _, err := chromedp.Call(clin, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	run(t, clin, "javascript off", chromedp.Navigate(s.base+detail77), chromedp.WaitVisible(chromedp.ID("dep-77")))
	if got := rowsUnder(t, clin, "Département 77"); len(got) != 4 || got[0][2] != "4 / 20" || got[1][2] != "5 / 18" {
		t.Fatalf("without JavaScript the detail lists %q", got)
	}

	// Logout: the pages ask for a login again.
	run(t, resp, "logout",
		chromedp.Navigate(s.base+"/disponibilites/mise-a-jour"),
		chromedp.Click(chromedp.CSS(".session button")),
		chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.Navigate(s.base+"/disponibilites/mise-a-jour"),
		chromedp.WaitVisible(chromedp.ID("identifiant")),
	)

	// The server goes away: an open page says so, and recovers when it is
	// back. (A display link's page: sessions live in the server's memory,
	// so a logged-in page says instead that its session ended.)
	run(t, other, "live page", chromedp.Navigate(s.base+s.display+"/dialyse?departement=77"), chromedp.WaitVisible(chromedp.ID("dep-77")))
	if err := s.child.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitStatus := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := get(t, other, "status", chromedp.Evaluate[string](`document.getElementById('etat-direct').textContent`))
			if want == "" && got == "" || want != "" && strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page's status says %q, want %q", got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitStatus("Connexion au service perdue")
	c, err := startChild(filepath.Join(s.data, "serve.log"), "serve", "--data", s.data, "--addr", strings.TrimPrefix(s.base, "http://"), "--metrics-addr", "off")
	if err != nil {
		t.Fatal(err)
	}
	s.child = c
	waitStatus("")
}

// axeSource is axe-core, vendored (testdata/axe-core): the accessibility
// rules run inside the page, none disabled.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile("testdata/axe-core/axe.min.js")
	return string(b), err
})

// axeViolations runs axe-core on the page and returns its violations, one
// line each.
func axeViolations(t *testing.T, ctx context.Context) []string {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		t.Fatal(err)
	}
	// Evaluated through the DevTools protocol, the script is not the page's:
	// the page's Content-Security-Policy does not apply to it.
	get(t, ctx, "load axe-core", chromedp.Evaluate[bool](src+";true"))
	out := get(t, ctx, "axe.run", chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then(function (r) {
  return r.violations.map(function (v) {
    return v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.map(function (n) { return n.target.join(' '); }).join(' | ');
  });
})`, chromedp.EvalAwaitPromise))
	return out
}

// TestBrowserPagesAccessible opens every page, in its error, blocked and
// as-of states too, on a desktop and a phone, and runs axe-core on each:
// no violation is allowed. Each is saved as a screenshot when DISPO_SCREENS
// is set.
func TestBrowserPagesAccessible(t *testing.T) {
	s := serveSeed(t)
	resp := newBrowser(t, 1280, 900)
	clin := newBrowser(t, 1280, 900)
	aud := newBrowser(t, 1280, 900)
	anon := newBrowser(t, 1280, 900)
	ana := newBrowser(t, 1280, 900)
	adm := newBrowser(t, 1280, 900)
	s.login(t, ana, "analyste", "/tendances?from=2024-W30&to=2024-W40")
	s.login(t, adm, "admin", "/administration")
	s.login(t, resp, "resp-eg", "/disponibilites/mise-a-jour")
	s.login(t, clin, "clinicien", "/disponibilites/consultation")
	s.login(t, aud, "auditeur", "/disponibilites/consultation")
	// A closed unit, for the blocked states.
	run(t, resp, "close",
		chromedp.Navigate(s.base+"/disponibilites/mise-a-jour/77-EG-03/fermeture"),
		chromedp.SendKeys(chromedp.ID("motif"), "travaux"),
		chromedp.Submit(chromedp.ID("motif")),
		chromedp.WaitVisible(chromedp.CSS("#uo-77-EG-03 .marque-fermee")),
	)

	type visit struct {
		name string
		ctx  context.Context
		path string
		// then, if set, acts on the page before the check (a refused form).
		then []chromedp.Action[chromedp.Void]
		want string // a text the page must show
	}
	visits := []visit{
		{"connexion", anon, "/connexion", nil, "Identification"},
		{"connexion-erreur", anon, "/connexion", []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(chromedp.ID("identifiant"), "personne"),
			chromedp.SendKeys(chromedp.ID("mot_de_passe"), "pas le bon mot de passe"),
			chromedp.Submit(chromedp.ID("mot_de_passe")),
			chromedp.WaitVisible(chromedp.ID("connexion-err")),
		}, "identifiant ou mot de passe incorrect"},
		{"consultation", clin, "/disponibilites/consultation", nil, "Dialyse"},
		{"consultation-passe", clin, "/disponibilites/consultation?at=2025-03-01T12:00", nil, "État passé"},
		{"detail", clin, "/disponibilites/consultation/dialyse", nil, "Département 77"},
		{"detail-77-udm", clin, "/disponibilites/consultation/dialyse?departement=77&type=udm", nil, "Unité de dialyse médicalisée"},
		{"detail-fermee", clin, detail77, nil, "UO en indisponibilité totale, saisie bloquée"},
		{"structures", clin, "/disponibilites/structures", nil, "770110054"},
		{"structure", clin, "/disponibilites/structures/770110054", nil, "Détail des disponibilités par structure"},
		{"recherche", clin, "/recherche?q=dialyse", nil, "unité(s) trouvée(s)"},
		{"uo", clin, "/uo/77-EG-02", nil, "Auto dialyse"},
		{"historique", aud, "/historique", nil, "Choisissez une UO pour lire son historique"},
		{"administration", adm, "/administration", nil, "Comptes et habilitations"},
		{"uo-historique", aud, "/uo/77-EG-02", nil, "Historique"},
		{"uo-passe", aud, "/uo/77-EG-02?at=2024-08-06T12:00", nil, "2 places le 07/08 à 7h"},
		{"mise-a-jour", resp, "/disponibilites/mise-a-jour", nil, "Saisie des disponibilités"},
		{"mise-a-jour-erreur", resp, "/disponibilites/mise-a-jour", []chromedp.Action[chromedp.Void]{
			chromedp.SetValue(chromedp.ID("f-77-EG-01-installees"), "douze"),
			saveRow("77-EG-01"),
			chromedp.WaitVisible(chromedp.ID("f-77-EG-01-installees-err")),
		}, "nombre entier"},
		{"fermeture", resp, "/disponibilites/mise-a-jour/77-EG-01/fermeture", nil, "Motif de l'indisponibilité"},
		{"fermeture-erreur", resp, "/disponibilites/mise-a-jour/77-EG-01/fermeture", []chromedp.Action[chromedp.Void]{
			chromedp.Submit(chromedp.ID("motif")),
			chromedp.WaitVisible(chromedp.ID("motif-err")),
		}, "motif de l'indisponibilité est obligatoire"},
		{"tendances", ana, "/tendances?from=2024-W30&to=2024-W40", nil, "Unités sans déclaration la semaine 2024-W40"},
		{"tendances-erreur", ana, "/tendances?from=2024-W40&to=2024-W30", nil, "est après"},
		{"erreur-403", clin, "/disponibilites/mise-a-jour", nil, "Accès refusé"},
		{"erreur-404", clin, "/nulle-part", nil, "Page introuvable"},
		{"compte-erreur", clin, "/compte", []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(chromedp.ID("mot_de_passe_actuel"), "pas le bon"),
			chromedp.Submit(chromedp.ID("mot_de_passe_actuel")),
			chromedp.WaitVisible(chromedp.ID("nouveau_mot_de_passe-err")),
		}, "obligatoire"},
		{"compte", clin, "/compte", nil, "Changer de mot de passe"},
		{"affichage", anon, s.display, nil, "Affichage en lecture seule — clinicien"},
		{"affichage-detail", anon, s.display + "/dialyse?departement=77", nil, "Département 77"},
		{"cgu", anon, "/cgu", nil, "Conditions générales d'utilisation"},
		{"accessibilite", anon, "/accessibilite", nil, "RGAA 4.1"},
	}
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"", 1280, 900}, {"-telephone", 375, 812}} {
		for _, v := range visits {
			steps := append([]chromedp.Action[chromedp.Void]{
				chromedp.EmulateViewport(size.width, size.height),
				chromedp.Navigate(s.base + v.path),
				chromedp.WaitVisible(chromedp.CSS("#contenu h1")),
			}, v.then...)
			run(t, v.ctx, v.name+size.name, steps...)
			body := get(t, v.ctx, "text", chromedp.Text(chromedp.CSS("body")))
			if !strings.Contains(body, v.want) {
				t.Errorf("%s%s: the page does not say %q:\n%s", v.name, size.name, v.want, body)
			}
			for _, violation := range axeViolations(t, v.ctx) {
				t.Errorf("%s%s (%s): %s", v.name, size.name, v.path, violation)
			}
			screenshot(t, v.ctx, v.name+size.name)
		}
	}
}
