package httpapi_test

import (
	"net/http"
	"testing"

	"dispo/domain"
)

// A retry is the same request: the same key with another body, or on
// another command, is refused (422), not answered with the first outcome;
// the same body spelled otherwise (key order, white space, escapes) is the
// same request and is replayed.
func TestIdempotencyKeyReusedWithAnotherRequest(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	key := map[string]string{"Idempotency-Key": "decl-1"}
	first := c.do("POST", badDecl, `{"available":1,"installed":20,"comment":"1 place"}`, key)
	if first.status != http.StatusOK {
		t.Fatalf("declare: %d %s", first.status, first.body)
	}
	head := e.head()
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"another count", "POST", badDecl, `{"available":2,"installed":20,"comment":"1 place"}`},
		{"another comment", "POST", badDecl, `{"available":1,"installed":20,"comment":"2 places"}`},
		{"a field more", "POST", badDecl, `{"available":1,"installed":20,"closed_places":0,"comment":"1 place"}`},
		{"another unit", "POST", "/api/v1/units/77-EG-02/declarations", `{"available":1,"installed":18,"comment":"1 place"}`},
		{"another command", "PUT", badComment, `{"comment":"1 place"}`},
		{"another method", "DELETE", badComment, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := badSend(t, c, badReq{method: tc.method, path: tc.path, body: tc.body, header: key})
			res.problem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
			if res.json["field"] != "Idempotency-Key" {
				t.Fatalf("field %v, want Idempotency-Key", res.json["field"])
			}
			if e.head() != head {
				t.Fatal("a reused key appended")
			}
		})
	}
	same := c.do("POST", badDecl, " {\"comment\":\"1 pl\\u0061ce\",\n \"installed\":20, \"available\":1}", key)
	if same.status != http.StatusOK || same.json["replayed"] != true || same.json["position"] != first.json["position"] {
		t.Fatalf("the same request respelled: %d %s", same.status, same.body)
	}
	if e.head() != head {
		t.Fatal("the retry appended")
	}
	// Another user's key of the same name is another key.
	admin := e.login(domain.RoleAdmin)
	if res := admin.do("PUT", "/api/v1/units/77-EG-01/pool", map[string]any{"pool": "p1"}, key); res.status != http.StatusOK {
		t.Fatalf("another user's key: %d %s", res.status, res.body)
	}
}

// A replay is answered only to who may make the request now: a responsable
// whose habilitation was revoked gets 403 on the retry, not the outcome.
func TestIdempotentRetryAfterRevocation(t *testing.T) {
	e := newEnv(t)
	c := e.login(domain.RoleResponsable)
	key := map[string]string{"Idempotency-Key": "close-1"}
	body := map[string]any{"reason": "panne d'eau"}
	if res := c.do("PUT", badClosure, body, key); res.status != http.StatusOK {
		t.Fatalf("close: %d %s", res.status, res.body)
	}
	if err := e.users.Revoke(string(domain.RoleResponsable), finessEG); err != nil {
		t.Fatal(err)
	}
	head := e.head()
	res := c.do("PUT", badClosure, body, key)
	res.problem(t, http.StatusForbidden, "forbidden")
	if res.json["unit"] != nil || e.head() != head {
		t.Fatalf("the retry of a revoked user: %s, head %d -> %d", res.body, head, e.head())
	}
}
