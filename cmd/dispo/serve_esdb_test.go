package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dispo/adapters/esdblog"
	"dispo/adapters/esdblog/standin"
	"dispo/adapters/jsonl"
	"dispo/adapters/userfile"
	"dispo/domain"
)

// TestServeOnEventStore runs the service's flows with `serve --eventstore`
// against the EventStoreDB stand-in (no real server can run here): the
// seed imported through the adapter, a responsable declaring, reading the
// matrix and the detail, refused another establishment, closing, refused a
// declaration, reopening.
func TestServeOnEventStore(t *testing.T) {
	srv, err := standin.Start(standin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The seed, through the adapter, and a unit of another establishment.
	l, err := esdblog.Open(ctx, srv.URL(), esdblog.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fixtures + "seed-77.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jsonl.Import(ctx, l, f, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	l.Close()
	users, err := userfile.Open(filepath.Join(data, "users.json"), userfile.Options{Params: userfile.CheapParams})
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Add(userfile.User{ID: "resp", Role: domain.RoleResponsable, Establishments: []string{"770110054"}}, "a long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := users.Add(userfile.User{ID: "admin", Role: domain.RoleAdmin}, "a long enough password"); err != nil {
		t.Fatal(err)
	}

	var out, errOut syncBuffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Now: time.Now, Getenv: func(string) string { return "" }}
	ready := make(chan string, 1)
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, env, serveConfig{data: data, addr: "127.0.0.1:0", eventstore: srv.URL(), shutdown: 5 * time.Second, ready: ready})
	}()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-served:
		t.Fatalf("serve ended: %v\n%s", err, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	if !strings.Contains(out.String(), "EventStoreDB "+srv.URL()) {
		t.Fatalf("start-up message does not name the event store:\n%s", out.String())
	}

	type client struct {
		c    *http.Client
		csrf string
	}
	call := func(c *client, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("X-CSRF-Token", c.csrf)
		res, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	login := func(id string) *client {
		jar, _ := cookiejar.New(nil)
		c := &client{c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
		code, m := call(c, "POST", "/api/v1/session", `{"identifier":"`+id+`","password":"a long enough password"}`)
		if code != 201 {
			t.Fatalf("login %s: %d %v", id, code, m)
		}
		c.csrf = m["csrf_token"].(string)
		return c
	}
	resp, admin := login("resp"), login("admin")
	code, m := call(admin, "POST", "/api/v1/units", `{"unit_id":"75-OTHER-01","finess":"750000017","establishment":"Autre","department":"75","type":"udm","name":"UDM"}`)
	if code != 201 {
		t.Fatalf("register: %d %v", code, m)
	}
	code, m = call(resp, "POST", "/api/v1/units/77-EG-02/declarations", `{"available":4,"installed":18,"closed_places":0}`)
	if code != 200 {
		t.Fatalf("declare: %d %v", code, m)
	}
	pos := uint64(m["position"].(float64))
	if pos != 16 {
		t.Fatalf("declaration at position %d, want 16 (14 seed events, 1 registration, then it)", pos)
	}
	code, m = call(resp, "GET", fmt.Sprintf("/api/v1/departments/77/rows?min_position=%d", pos), "")
	if row := m["rows"].([]any)[1].(map[string]any); code != 200 || row["available"].(float64) != 4 {
		t.Fatalf("detail: %d %v", code, m)
	}
	code, m = call(resp, "GET", fmt.Sprintf("/api/v1/matrix?min_position=%d", pos), "")
	if tot := m["total"].(map[string]any)["total"].(map[string]any); code != 200 || tot["available"].(float64) != 4 || tot["units"].(float64) != 5 {
		t.Fatalf("matrix: %d %v", code, m["total"])
	}
	if code, _ = call(resp, "POST", "/api/v1/units/75-OTHER-01/declarations", `{"available":1,"installed":5}`); code != 403 {
		t.Fatalf("declaring for another establishment: %d", code)
	}
	if code, m = call(resp, "PUT", "/api/v1/units/77-EG-03/closure", `{"reason":"travaux"}`); code != 200 {
		t.Fatalf("close: %d %v", code, m)
	}
	if code, m = call(resp, "POST", "/api/v1/units/77-EG-03/declarations", `{"available":1,"installed":24}`); code != 409 || m["code"] != "unit_closed" {
		t.Fatalf("declaring on a closed unit: %d %v", code, m)
	}
	if code, _ = call(resp, "DELETE", "/api/v1/units/77-EG-03/closure", ""); code != 200 {
		t.Fatalf("reopen: %d", code)
	}
	code, m = call(resp, "GET", "/api/v1/units/77-EG-02/history", "")
	if code != 200 || m["count"].(float64) != 6 {
		t.Fatalf("history through the adapter: %d %v", code, m["count"])
	}

	// The event store stops mid-run: a command answers 503 with Retry-After
	// and nothing is appended; once it is back, commands go through again.
	before := srv.Stats().Events
	srv.Stop()
	req, _ := http.NewRequest("POST", base+"/api/v1/units/77-EG-01/declarations", strings.NewReader(`{"available":3,"installed":20}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", resp.csrf)
	res, err := resp.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("command while the event store is down: %d %v", res.StatusCode, res.Header)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if after := srv.Stats().Events; after != before {
		t.Fatalf("the refused command left %d events", after-before)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, m = call(resp, "POST", "/api/v1/units/77-EG-01/declarations", `{"available":3,"installed":20}`)
		if code == 200 {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("command after the event store came back: %d %v", code, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, m = call(resp, "GET", fmt.Sprintf("/api/v1/units/77-EG-01?min_position=%d", uint64(m["position"].(float64))), "")
	if code != 200 || m["available"].(float64) != 3 {
		t.Fatalf("the projections did not follow the event store back: %d %v", code, m)
	}

	// FHIR on the same log: a sync id, the national PATCH, a search paged
	// at a position of the event store's.
	if code, m = call(admin, "PUT", "/api/v1/units/77-EG-02", `{"finess":"770110054","establishment":"EG","department":"77","type":"autodialyse","name":"Auto dialyse","sync_id":"AUTO-02"}`); code != 200 {
		t.Fatalf("sync id: %d %v", code, m)
	}
	patch := `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueString":"replace"},` +
		`{"name":"path","valueString":"Location.extension.where(url='https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location-supported-capacity').where(extension.where(url = 'capacityStatus' and valueCodeableConcept.coding.code = '02'))"},` +
		`{"name":"value","part":[{"extension":[{"url":"https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location-supported-capacity","extension":[` +
		`{"url":"nbCapacity","valueInteger":7},{"url":"capacityStatus","valueCodeableConcept":{"coding":[{"code":"02"}]}},{"url":"capacityType","valueCodeableConcept":{"coding":[{"code":"02"}]}},` +
		`{"url":"temporalityCapacity","valueCodeableConcept":{"coding":[{"code":"01"}]}},{"url":"temporaryAssignement","valueCodeableConcept":{"coding":[{"code":"01"}]}}]}]}]}]}]}`
	if code, m = call(resp, "PATCH", "/fhir/ws-synchro-dispo-lits-fhir/Location?identifier=1770110054/AUTO-02", patch); code != 200 || m["id"] != "uo-77-EG-02" {
		t.Fatalf("FHIR PATCH on the event store: %d %v", code, m)
	}
	code, m = call(resp, "GET", "/fhir/Location?capacity-status=02&nb-capacity=7", "")
	if code != 200 || m["total"].(float64) != 1 {
		t.Fatalf("FHIR search after the PATCH: %d %v", code, m)
	}
	code, m = call(resp, "GET", "/fhir/Location?_count=2", "")
	var next string
	for _, l := range m["link"].([]any) {
		if l := l.(map[string]any); l["relation"] == "next" {
			next = l["url"].(string)
		}
	}
	if code != 200 || m["total"].(float64) != 5 || next == "" {
		t.Fatalf("FHIR first page: %d total %v next %q", code, m["total"], next)
	}
	if code, m = call(resp, "POST", "/api/v1/units/77-EG-01/declarations", `{"available":1,"installed":20}`); code != 200 {
		t.Fatalf("declare: %d %v", code, m)
	}
	if code, m = call(resp, "GET", strings.TrimPrefix(next, base), ""); code != 200 || len(m["entry"].([]any)) != 2 || m["total"].(float64) != 5 {
		t.Fatalf("FHIR second page, taken at the first one's position: %d %v", code, m)
	}
}

// import and export --eventstore: the seed through the adapter and back,
// byte for byte; a second import appends nothing.
func TestImportExportOnEventStore(t *testing.T) {
	srv, err := standin.Start(standin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	data := t.TempDir()
	out := mustDispo(t, "import", "--eventstore", srv.URL(), "--data", data, fixtures+"seed-77.jsonl")
	if !strings.Contains(out, "14 appended") {
		t.Fatalf("import said %q", out)
	}
	if out := mustDispo(t, "import", "--eventstore", srv.URL(), "--data", data, fixtures+"seed-77.jsonl"); !strings.Contains(out, " 0 appended") {
		t.Fatalf("second import said %q", out)
	}
	exported := mustDispo(t, "export", "--eventstore", srv.URL(), "--data", data)
	want, _ := os.ReadFile(fixtures + "seed-77.jsonl")
	if exported != string(want) {
		t.Fatalf("export through EventStoreDB differs from the imported file:\n%s", exported)
	}
}
