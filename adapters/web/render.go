package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"dispo/adapters/httpauth"
	"dispo/domain"
	"dispo/projections"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds the parsed templates, one set per page (each page defines
// "content" inside the one layout), and the assets with their digests.
type pages struct {
	layout *template.Template // the layout alone, around a rendered Main
	sets   map[string]*template.Template
	assets map[string]asset // by file name
}

type asset struct {
	body        []byte
	digest      string // of body: the asset's URL changes with it
	contentType string
}

func mustParsePages() *pages {
	p := &pages{sets: map[string]*template.Template{}, assets: map[string]asset{}}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		p.assets[path.Base(name)] = asset{body: b, digest: hex.EncodeToString(sum[:6]), contentType: ct}
		return nil
	})
	if err != nil {
		panic("web: " + err.Error()) // the assets are embedded: cannot happen
	}
	funcs := template.FuncMap{
		"asset":   p.assetURL,
		"paris":   domain.FormatParis,
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"band":    bandOf,
		"tel":     telURL,
		"typeLabel": func(code string) string {
			if t, ok := domain.LookupType(code); ok {
				return t.Label
			}
			return code
		},
		"created": created,
		"linesOf": func(lines []unitLine, places bool, caption, empty string) linesView {
			return linesView{Lines: lines, Places: places, Caption: caption, Empty: empty}
		},
		"fieldOf": func(f rowForm, form, name, label string) fieldView {
			return fieldView{ID: form + "-" + name, Name: name, Form: form, Value: f.Values[name], Error: f.Errors[name], Label: label, Unit: f.Name}
		},
	}
	p.layout = template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFS, "templates/layout.tmpl"))
	names, err := fs.Glob(templateFS, "templates/*.tmpl")
	if err != nil {
		panic("web: " + err.Error())
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.tmpl" {
			continue
		}
		t := template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFS, "templates/layout.tmpl", n))
		p.sets[strings.TrimSuffix(base, ".tmpl")] = t
	}
	return p
}

func (p *pages) assetURL(name string) string {
	a, ok := p.assets[name]
	if !ok {
		panic("web: no asset " + name) // a template names a file that is not embedded
	}
	return "/static/" + a.digest + "/" + name
}

// static serves the embedded assets. Their URL holds their digest, so
// they can be kept for a year: a new version has a new URL.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/static/")
	digest, name, _ := strings.Cut(rest, "/")
	a, ok := s.pages.assets[name]
	if !ok || digest != a.digest {
		s.errorPage(w, r, http.StatusNotFound, "")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	send(w, r, http.StatusOK, a.contentType, a.body)
}

// linesView is a table of units (the "lines" template).
type linesView struct {
	Lines          []unitLine
	Places         bool
	Caption, Empty string
}

// fieldView is a figure of a Mise à jour row (the "field" template).
type fieldView struct {
	ID, Name, Form, Value, Error, Label, Unit string
}

// nav is an entry of the navigation bar.
type nav struct {
	Label, Href string
	Current     bool
}

// layout is what the layout template reads; Content is the page's own.
type layout struct {
	Title   string
	User    *domain.Principal
	RoleFR  string
	Nav     []nav
	CSRF    string
	Live    bool // the page follows /flux
	Pos     uint64
	Now     time.Time
	Refresh int           // seconds before the page reloads itself; 0: never
	Stream  string        // the live stream a live page follows
	Main    template.HTML // where the layout puts the main element (mainMark)
	mainZ   *deflated     // the main element, rendered and compressed apart
	Display string        // a display link's screen: no navigation, no session
	Content any
}

// roleLabels name the roles as the guide does.
var roleLabels = map[domain.Role]string{
	domain.RoleResponsable:   "Responsable de disponibilités",
	domain.RoleProfessionnel: "Professionnel de santé",
	domain.RoleAnalyst:       "Analyste (ARS)",
	domain.RoleAuditor:       "Auditeur",
	domain.RoleAdmin:         "Administrateur",
}

// navigation is the bar for p: the guide's tabs, then what p's role may open.
func navigation(p domain.Principal, current string) []nav {
	items := []nav{{Label: "Consultation", Href: "/disponibilites/consultation"}}
	if p.Role == domain.RoleResponsable {
		items = append(items, nav{Label: "Mise à jour", Href: "/disponibilites/mise-a-jour"})
	}
	items = append(items, nav{Label: "Structures", Href: "/disponibilites/structures"}, nav{Label: "Recherche", Href: "/recherche"})
	if p.Role == domain.RoleAuditor || p.Role == domain.RoleAdmin {
		items = append(items, nav{Label: "Historique", Href: "/historique"})
	}
	if domain.Authorize(p, domain.ActTrends, "") == nil {
		items = append(items, nav{Label: "Tendances", Href: "/tendances"})
	}
	if p.Role == domain.RoleAdmin {
		items = append(items, nav{Label: "Administration", Href: "/administration"})
	}
	items = append(items, nav{Label: "Mon compte", Href: AccountPath})
	for i := range items {
		items[i].Current = strings.HasPrefix(current, items[i].Href)
	}
	return items
}

// render writes page name with the layout around content.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, live bool, content any) {
	s.renderWith(w, r, status, name, title, live, content, nil)
}

// renderWith is render with a last word on the layout. With no name, the
// main element is already rendered (a page from the cache: mod sets it).
func (s *Server) renderWith(w http.ResponseWriter, r *http.Request, status int, name, title string, live bool, content any, mod func(*layout)) {
	l := layout{Title: title, Live: live, Pos: s.position(r), Now: s.cfg.Now().UTC(), Content: content,
		CSRF: httpauth.CSRFToken(r), Stream: "/flux"}
	if d, ok := displayFrom(r); ok {
		l.Stream, l.Display = d.base+"/flux", d.label
	} else if p, ok := httpauth.PrincipalFrom(r.Context()); ok {
		l.User, l.RoleFR, l.Nav = &p, roleLabels[p.Role], navigation(p, r.URL.Path)
	}
	if mod != nil {
		mod(&l)
	}
	var buf bytes.Buffer
	if name != "" {
		t, ok := s.pages.sets[name]
		if !ok {
			panic("web: no page " + name)
		}
		c, cacheable := r.Context().Value(cacheKey{}).(*cacheable)
		if cacheable {
			l.Pos = c.pos // what the page shows is at least that recent
		}
		if err := t.ExecuteTemplate(&buf, "main", l); err != nil {
			s.log.Error("rendering a page", "page", name, "err", err)
			if name != "error" {
				s.errorPage(w, r, http.StatusInternalServerError, "")
			}
			return
		}
		z := deflate(bytes.Clone(buf.Bytes()), false)
		l.mainZ = &z
		if cacheable && status == http.StatusOK {
			s.mains.put(c.key, cachedMain{pos: c.pos, until: c.until, z: z, title: title, live: live}, s.cfg.Live.Position())
		}
		buf.Reset()
	}
	z := l.mainZ
	if z == nil {
		panic("web: a page without its main element") // renderWith's callers give one
	}
	if r.Header.Get(partialHeader) != "" {
		// A live page refreshing its main element.
		send(w, r, status, "text/html; charset=utf-8", z.plain)
		return
	}
	l.Main = mainMark
	if err := s.pages.layout.Execute(&buf, l); err != nil {
		s.log.Error("rendering the layout", "page", name, "err", err)
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return
	}
	head, tail, ok := bytes.Cut(buf.Bytes(), []byte(mainMark))
	if !ok {
		panic("web: the layout does not show Main") // cannot happen: layout.tmpl does
	}
	sendPage(w, r, status, head, *z, tail)
}

// mainMark stands for the main element while the layout is rendered, so
// that the page splits into the person's header, the main and the footer.
const mainMark = "\x00main\x00"

// partialHeader asks for the page's main element alone: the live script
// swaps it in when the log moved.
const partialHeader = "X-Dispo-Partial"

// bandView is a freshness band as a page shows it: a class for the colour
// and a text for who does not see it.
type bandView struct {
	Class, Label, Title string
}

var bandTitles = [projections.NumBands]string{
	"mis à jour il y a moins d'une heure", "mis à jour il y a moins de 3 heures", "mis à jour il y a moins de 6 heures",
	"mis à jour il y a moins de 12 heures", "mis à jour il y a moins de 24 heures", "mis à jour il y a plus de 24 heures",
}

func bandOf(last, now time.Time) bandView {
	b := projections.BandOf(last, now)
	v := bandView{Class: "b" + string(rune('0'+int(b))), Label: b.String(), Title: bandTitles[b]}
	if last.IsZero() {
		v.Title = "jamais déclarée"
	}
	if projections.Overdue(last, now) {
		v.Class += " retard"
		v.Label += " · en retard"
		v.Title += " : la déclaration hebdomadaire manque"
	}
	return v
}

// telURL is the tel: link of a phone number as the directory writes it.
func telURL(phone string) template.URL {
	var b strings.Builder
	for i, c := range phone {
		if c >= '0' && c <= '9' || c == '+' && i == 0 {
			b.WriteRune(c)
		}
	}
	return template.URL("tel:" + b.String())
}
