package fhir_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/userfile"
	"dispo/cmd/dispo/app"
	"dispo/domain"
)

// BenchmarkFHIR measures the server time of the FHIR reads on the demo's
// Île-de-France (180 units), in process: the handler alone, no network.
// Beside each, its floor in the same run: a constant handler writing the
// same gzipped bytes; and each answer's weight.
func BenchmarkFHIR(b *testing.B) {
	dir := b.TempDir()
	log, err := boltlog.Open(filepath.Join(dir, "events.db"), boltlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	evs, err := fixturegen.Demo(time.Now())
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
	for _, q := range []struct{ name, path string }{
		{"search-all", "/fhir/Location?_revinclude=HealthcareService:location"},
		// Each request another search (the same answer): what the first
		// search after the log moved costs, the directory aside.
		{"search-all-uncached", "/fhir/Location?_revinclude=HealthcareService:location&nb-capacity=ge-"},
		{"search-available", "/fhir/Location?capacity-type=02&capacity-status=02&nb-capacity=gt0"},
		{"read", "/fhir/Location/uo-" + evs[0].Stream[len(domain.UnitStreamPrefix):]},
	} {
		firstPath := q.path
		if strings.HasSuffix(firstPath, "=ge-") {
			firstPath += "0"
		}
		first := get(firstPath)
		if first.Code != 200 {
			b.Fatalf("%s: %d %s", q.path, first.Code, first.Body)
		}
		body := first.Body.Bytes()
		plain := len(body)
		if first.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(zr)
			plain = buf.Len()
		}
		enc := first.Header().Get("Content-Encoding")
		constant := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
			if enc != "" {
				w.Header().Set("Content-Encoding", enc)
			}
			w.Write(body)
		})
		b.Run(q.name, func(b *testing.B) {
			var ns, floorNs time.Duration
			n := 0
			for b.Loop() {
				path := q.path
				if strings.HasSuffix(path, "=ge-") {
					n++
					path += strconv.Itoa(n)
				}
				start := time.Now()
				get(path)
				ns += time.Since(start)
				start = time.Now()
				constant.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", q.path, nil))
				floorNs += time.Since(start)
			}
			b.ReportMetric(float64(ns.Microseconds())/float64(b.N), "fhir-µs")
			b.ReportMetric(float64(floorNs.Microseconds())/float64(b.N), "floor-µs")
			b.ReportMetric(float64(len(body))/1024, "sent-KiB")
			b.ReportMetric(float64(plain)/1024, "json-KiB")
		})
	}
}
