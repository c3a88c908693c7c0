package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"dispo/adapters/boltlog"
	"dispo/adapters/fixturegen"
	"dispo/adapters/jsonl"
	"dispo/domain"

	"github.com/google/uuid"
)

// encoding/json keeps the last of duplicate keys and matches keys up to
// case and Unicode folding: the body the client sent and the command the
// log records could disagree. Each key once, exactly a field's name.
func TestStrictJSONKeys(t *testing.T) {
	e := newEnv(t)
	type fieldCase struct {
		name, path, method, body, code, field string
		role                                  domain.Role
	}
	cases := []fieldCase{
		{"duplicate count", badDecl, "POST", `{"available":1,"installed":20,"available":2}`, "duplicate_key", "available", ""},
		{"duplicate comment", badDecl, "POST", `{"available":1,"installed":20,"comment":"a","comment":"b"}`, "duplicate_key", "comment", ""},
		{"duplicate spelled with an escape", badDecl, "POST", `{"available":1,"installed":20,"\u0061vailable":2}`, "duplicate_key", "available", ""},
		{"duplicate in a closure", badClosure, "PUT", `{"reason":"x","reason":"y"}`, "duplicate_key", "reason", ""},
		{"an unknown object holding a duplicate", badDecl, "POST", `{"available":1,"installed":20,"x":{"a":1,"a":2}}`, "unknown_field", "x", ""},
		{"capitals", badDecl, "POST", `{"AVAILABLE":3,"installed":20}`, "unknown_field", "AVAILABLE", ""},
		{"title case", badDecl, "POST", `{"available":3,"Installed":20}`, "unknown_field", "Installed", ""},
		{"long s folds to s", badDecl, "POST", `{"available":0,"installed":20,"clo\u017fed":1}`, "unknown_field", "clo\u017fed", ""},
		{"kelvin sign folds to k", "/api/v1/units", "POST", `{"unit_id":"77-K","finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n","phone":"","\u212a":1}`, "unknown_field", "\u212a", domain.RoleAdmin},
		{"register in capitals", "/api/v1/units", "POST", `{"UNIT_ID":"77-K","finess":"770110054","establishment":"EG","department":"77","type":"udm","name":"n"}`, "unknown_field", "UNIT_ID", domain.RoleAdmin},
		{"comment text in capitals", badComment, "PUT", `{"TEXT":"a"}`, "unknown_field", "TEXT", ""},
		{"pool in capitals", "/api/v1/units/77-EG-01/pool", "PUT", `{"Pool":"p"}`, "unknown_field", "Pool", domain.RoleAdmin},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role := tc.role
			if role == "" {
				role = domain.RoleResponsable
			}
			before := e.head()
			res := badSend(t, e.login(role), badReq{method: tc.method, path: tc.path, body: tc.body})
			res.problem(t, http.StatusBadRequest, tc.code)
			if res.json["field"] != tc.field {
				t.Fatalf("field %v, want %q: %s", res.json["field"], tc.field, res.body)
			}
			if e.head() != before {
				t.Fatal("refused but appended")
			}
		})
	}
	// Exact names, each once, in any order, are fine.
	res := badSend(t, e.login(domain.RoleResponsable), badPost(badDecl, `{"comment":"ok","closed_places":0,"installed":20,"available":1}`))
	if res.status != http.StatusOK {
		t.Fatalf("exact keys: %d %s", res.status, res.body)
	}
}

// New comments with a bidirectional override or a zero-width character
// are refused at every command that sets one, naming the body's field.
func TestNewCommentsWithInvisibleCharactersRefused(t *testing.T) {
	e := newEnv(t)
	var cases []badCase
	for name, text := range map[string]string{
		"right-to-left override": `1 place \u202e01h à 11/03`,
		"zero width space":       `1\u200b place`,
		"first strong isolate":   `\u2068abc`,
		"right-to-left mark":     `abc\u200f`,
	} {
		cases = append(cases,
			badCase{name: "declaration with a " + name, req: badPost(badDecl, `{"available":1,"installed":20,"comment":"`+text+`"}`), status: 400, code: "comment_invisible_characters"},
			badCase{name: "comment with a " + name, req: badPut(badComment, `{"comment":"`+text+`"}`), status: 400, code: "comment_invisible_characters"})
	}
	badRun(t, e, cases)
	c := e.login(domain.RoleResponsable)
	for path, field := range map[string]string{badDecl: "comment", badComment: "comment"} {
		method, body := "POST", `{"available":1,"installed":20,"comment":"a\u202eb"}`
		if path == badComment {
			method, body = "PUT", `{"comment":"a\u202eb"}`
		}
		res := badSend(t, c, badReq{method: method, path: path, body: body})
		if res.json["field"] != field || res.json["title"] == "" {
			t.Fatalf("%s: field %v, want %q: %s", path, res.json["field"], field, res.body)
		}
	}
}

// A comment recorded before the rule stays a fact: the projections fold it,
// an export of the log imports into another, and a declaration that keeps
// it (sends it unchanged) is accepted, for it sets no new comment.
func TestRecordedCommentWithInvisibleCharactersFoldsAndImports(t *testing.T) {
	e := newEnv(t)
	old := "1 place \u202e01h à 11/03\u200b"
	st, err := domain.NewLedger(e.log, e.clock.Now, nil).State(context.Background(), "77-EG-01")
	if err != nil {
		t.Fatal(err)
	}
	env := domain.Envelope{ID: domain.EventID(uuid.New()), Stream: domain.UnitStream("77-EG-01"), SchemaVersion: 1,
		RecordedAt: e.clock.Now(), Source: domain.SourceImport, Actor: domain.Actor{UserID: "responsable", Role: domain.RoleResponsable},
		Event: domain.CommentSet{Text: old}, Revision: uint64(st.Revision() + 1)}
	var chained [1]domain.Envelope
	chained[0] = env
	if err := domain.Chain(chained[:], st.LastHash()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.Append(context.Background(), env.Stream, domain.Exact(st.Revision()), chained[:]); err != nil {
		t.Fatal(err)
	}
	c := e.login(domain.RoleResponsable)
	u := c.do("GET", "/api/v1/units/77-EG-01?min_position="+strconv.FormatUint(e.head(), 10), nil, nil)
	if u.status != http.StatusOK || u.json["comment"] != old {
		t.Fatalf("the projections did not fold the recorded comment: %d %s", u.status, u.body)
	}
	res := c.do("POST", badDecl, map[string]any{"available": 1, "installed": 20, "comment": old}, nil)
	if res.status != http.StatusOK || res.json["appended"].(float64) != 1 {
		t.Fatalf("a declaration keeping the recorded comment: %d %s", res.status, res.body)
	}

	// The env's log holds an unchained event (the harness's other unit):
	// the export is of a log of the seed and this comment, as chained as
	// the server writes them.
	src, err := boltlog.Open(filepath.Join(t.TempDir(), "src.db"), boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, ev := range append(fixturegen.Seed77(), chained[0]) {
		if _, err := src.Append(context.Background(), ev.Stream, domain.Exact(int64(ev.Revision)-1), []domain.Envelope{ev}); err != nil {
			t.Fatal(err)
		}
	}
	var export bytes.Buffer
	if _, err := jsonl.Export(context.Background(), src, &export, nil); err != nil {
		t.Fatal(err)
	}
	dst, err := boltlog.Open(filepath.Join(t.TempDir(), "imported.db"), boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := jsonl.Import(context.Background(), dst, &export, nil); err != nil {
		t.Fatalf("the export does not import: %v", err)
	}
	imported, err := domain.NewLedger(dst, e.clock.Now, nil).State(context.Background(), "77-EG-01")
	if err != nil || imported.Comment() != old {
		t.Fatalf("imported comment %q, %v; want %q", imported.Comment(), err, old)
	}
}
