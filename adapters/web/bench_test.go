package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/userfile"
	"dispo/cmd/dispo/app"
	"dispo/domain"
)

// BenchmarkPages measures the server time of the consultation pages on the
// demo's Île-de-France (180 units), in process: the handler alone, no
// network. Beside each, its floor in the same run: a constant handler
// writing the same compressed bytes. It also reports each page's weight,
// compressed as sent.
func BenchmarkPages(b *testing.B) {
	dir := b.TempDir()
	log, err := boltlog.Open(filepath.Join(dir, "events.db"), boltlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	now := time.Now()
	evs, err := fixturegen.Demo(now)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := fixturegen.Fill(context.Background(), log, slices.Values(evs), 1000); err != nil {
		b.Fatal(err)
	}
	users, err := userfile.Open(filepath.Join(dir, "users.json"), userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		b.Fatal(err)
	}
	if err := users.Add(userfile.User{ID: "clin", Role: domain.RoleProfessionnel}, password); err != nil {
		b.Fatal(err)
	}
	token, err := users.NewToken("clin")
	if err != nil {
		b.Fatal(err)
	}
	svc, err := app.New(context.Background(), app.Config{Log: log, Users: users, DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	for !svc.Live().Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	h := svc.Handler()
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, page := range []struct{ name, path string }{
		{"matrix", "/disponibilites/consultation"},
		{"detail-77", "/disponibilites/consultation/dialyse?departement=77"},
		{"detail-all", "/disponibilites/consultation/dialyse"},
		{"search", "/recherche?q=dialyse"},
	} {
		first := get(page.path)
		if first.Code != 200 || first.Header().Get("Content-Encoding") != "gzip" {
			b.Fatalf("%s: %d %v", page.path, first.Code, first.Header())
		}
		body := first.Body.Bytes()
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var plain bytes.Buffer
		plain.ReadFrom(zr)
		constant := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(body)
		})
		b.Run(page.name, func(b *testing.B) {
			var pageNs, floorNs time.Duration
			for b.Loop() {
				start := time.Now()
				get(page.path)
				pageNs += time.Since(start)
				start = time.Now()
				req := httptest.NewRequest("GET", page.path, nil)
				constant.ServeHTTP(httptest.NewRecorder(), req)
				floorNs += time.Since(start)
			}
			b.ReportMetric(float64(pageNs.Microseconds())/float64(b.N), "page-µs")
			b.ReportMetric(float64(floorNs.Microseconds())/float64(b.N), "floor-µs")
			b.ReportMetric(float64(len(body))/1024, "gzip-KiB")
			b.ReportMetric(float64(plain.Len())/1024, "html-KiB")
		})
	}
}
