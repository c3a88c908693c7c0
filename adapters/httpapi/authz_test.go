package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"dispo/domain"

	"github.com/google/uuid"
)

// The authorization matrix of the API: every role × every endpoint × a unit
// of the responsable's establishment (77-EG-01) and a unit of another one
// (75-OTHER-01), against the habilitation table of domain.Authorize:
//
//	anonymous      401 unauthorized everywhere under /api/v1 but POST /session
//	consult        every logged-in role, every establishment
//	declare        responsable on its own establishment (declare, comment,
//	               close, reopen); 403 forbidden for anyone else, admin included
//	administer     admin (register, details, pool, unpool, backup); 403 for
//	               anyone else
//
// Every refused command must leave the log head where it was; every allowed
// one must answer 2xx and move it (or, for a no-op, answer 2xx and not).

// authzRoles are the callers, "" being anonymous.
var authzRoles = []domain.Role{"", domain.RoleResponsable, domain.RoleProfessionnel, domain.RoleAnalyst, domain.RoleAuditor, domain.RoleAdmin}

func authzRoleName(r domain.Role) string {
	if r == "" {
		return "anonymous"
	}
	return string(r)
}

// authzTarget is a unit a command or query is aimed at.
type authzTarget struct {
	name          string // own or other
	unit          string
	finess        string
	establishment string
	department    string
	typ           string
	own           bool // of the responsable's establishment
}

var authzTargets = []authzTarget{
	{name: "own", unit: "77-EG-01", finess: finessEG, establishment: "EG", department: "77", typ: "udm", own: true},
	{name: "other", unit: "75-OTHER-01", finess: finessOther, establishment: "Autre hôpital", department: "75", typ: "centre_lourd"},
}

// authzCommand is a command route. setup brings the target to a state where
// the command, if allowed, appends: a refusal then proves the habilitation
// check, not a no-op.
type authzCommand struct {
	name   string
	method string
	path   func(tg authzTarget) string
	body   func(tg authzTarget) any // nil: no body
	act    domain.Action
	status int // on success
	setup  func(t *testing.T, e *env, tg authzTarget)
}

func authzUnitPath(suffix string) func(tg authzTarget) string {
	return func(tg authzTarget) string { return "/api/v1/units/" + tg.unit + suffix }
}

var authzCommands = []authzCommand{
	{name: "register", method: "POST", path: func(authzTarget) string { return "/api/v1/units" },
		body: func(tg authzTarget) any {
			return map[string]any{"unit_id": tg.department + "-NEW-09", "finess": tg.finess, "establishment": tg.establishment,
				"department": tg.department, "type": "udm", "name": "Nouvelle UDM"}
		}, act: domain.ActAdminister, status: http.StatusCreated},
	{name: "details", method: "PUT", path: authzUnitPath(""),
		body: func(tg authzTarget) any {
			return map[string]any{"finess": tg.finess, "establishment": tg.establishment, "department": tg.department,
				"type": tg.typ, "name": "Nom changé", "phone": "01 60 00 00 00"}
		}, act: domain.ActAdminister, status: http.StatusOK},
	{name: "declare", method: "POST", path: authzUnitPath("/declarations"),
		body: func(authzTarget) any { return map[string]any{"available": 1, "installed": 20, "closed_places": 1} },
		act:  domain.ActDeclare, status: http.StatusOK},
	{name: "set-comment", method: "PUT", path: authzUnitPath("/comment"),
		body: func(authzTarget) any { return map[string]any{"comment": "1 place le 11/03 à 10h"} },
		act:  domain.ActDeclare, status: http.StatusOK},
	{name: "clear-comment", method: "DELETE", path: authzUnitPath("/comment"),
		act: domain.ActDeclare, status: http.StatusOK,
		setup: func(t *testing.T, e *env, tg authzTarget) {
			authzForce(t, e, tg.unit, domain.SetComment{Text: "à effacer"})
		}},
	{name: "close", method: "PUT", path: authzUnitPath("/closure"),
		body: func(authzTarget) any { return map[string]any{"reason": "travaux", "reopenable": true} },
		act:  domain.ActDeclare, status: http.StatusOK},
	{name: "reopen", method: "DELETE", path: authzUnitPath("/closure"),
		act: domain.ActDeclare, status: http.StatusOK,
		setup: func(t *testing.T, e *env, tg authzTarget) {
			authzForce(t, e, tg.unit, domain.CloseUnit{Reason: "panne d'eau", Reopenable: true})
		}},
	{name: "pool", method: "PUT", path: authzUnitPath("/pool"),
		body: func(tg authzTarget) any { return map[string]any{"pool": "pool-" + tg.name} },
		act:  domain.ActAdminister, status: http.StatusOK},
	{name: "unpool", method: "DELETE", path: authzUnitPath("/pool"),
		act: domain.ActAdminister, status: http.StatusOK,
		setup: func(t *testing.T, e *env, tg authzTarget) {
			authzForce(t, e, tg.unit, domain.PoolUnit{Pool: "pool-" + tg.name})
		}},
}

// authzAllowed is the expected habilitation table (domain.Authorize's, as the
// API applies it).
func authzAllowed(role domain.Role, act domain.Action, own bool) bool {
	switch act {
	case domain.ActConsult:
		return role != ""
	case domain.ActDeclare:
		return role == domain.RoleResponsable && own
	case domain.ActAdminister:
		return role == domain.RoleAdmin
	}
	return false
}

// authzForce executes cmd on unit straight through a ledger of its own, as
// an import would (no principal, so no habilitation check): the state a test
// needs, whoever may or may not reach it through the API. The server's
// ledger reads the unit's stream again before each command, so it sees it.
func authzForce(t *testing.T, e *env, unit string, cmd domain.Command) {
	t.Helper()
	l := domain.NewLedger(e.log, e.clock.Now, func() domain.EventID { return domain.EventID(uuid.Must(uuid.NewV7())) })
	out, err := l.Execute(context.Background(), domain.Request{UnitID: unit, Command: cmd,
		Actor: domain.Actor{UserID: "setup", Role: domain.RoleSystem}, Source: domain.SourceImport})
	if err != nil || out.Appended == 0 {
		t.Fatalf("setup %T on %s: appended %d, %v", cmd, unit, out.Appended, err)
	}
}

// authzCall sends cmd on tg as c and checks the outcome against allowed: 2xx
// with the head moved and the answer's position at the head, or the refusal
// (401 for anonymous, 403 otherwise) with the head unchanged.
func authzCall(t *testing.T, e *env, c *client, cmd authzCommand, tg authzTarget, allowed bool) {
	t.Helper()
	var body any
	if cmd.body != nil {
		body = cmd.body(tg)
	}
	before := e.head()
	res := c.do(cmd.method, cmd.path(tg), body, nil)
	after := e.head()
	switch {
	case allowed:
		if res.status != cmd.status || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s %s as %s: got %d %s, want %d", cmd.method, cmd.path(tg), authzRoleName(c.role), res.status, res.body, cmd.status)
		}
		if after <= before {
			t.Fatalf("%s %s as %s: allowed but the head stayed at %d", cmd.method, cmd.path(tg), authzRoleName(c.role), before)
		}
		if pos, _ := res.json["position"].(float64); uint64(pos) != after || res.json["appended"].(float64) < 1 {
			t.Fatalf("answer position %v appended %v, log head %d", res.json["position"], res.json["appended"], after)
		}
		if res.header.Get("ETag") == "" {
			t.Fatalf("a command answer without ETag: %v", res.header)
		}
	case c.role == "":
		res.problem(t, http.StatusUnauthorized, "unauthorized")
	default:
		res.problem(t, http.StatusForbidden, "forbidden")
	}
	if !allowed && after != before {
		t.Fatalf("%s %s as %s was refused (%d) but the head moved %d -> %d", cmd.method, cmd.path(tg), authzRoleName(c.role), res.status, before, after)
	}
}

func TestAuthzCommandMatrix(t *testing.T) {
	for _, cmd := range authzCommands {
		for _, tg := range authzTargets {
			t.Run(cmd.name+"/"+tg.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				if cmd.setup != nil {
					cmd.setup(t, e, tg)
				}
				// Refusals first: they leave the state as set up, so the
				// allowed caller, last, finds the command would append.
				var allowed []domain.Role
				for _, role := range authzRoles {
					if authzAllowed(role, cmd.act, tg.own) {
						allowed = append(allowed, role)
						continue
					}
					t.Run(authzRoleName(role), func(t *testing.T) {
						authzCall(t, e, e.login(role), cmd, tg, false)
					})
				}
				if len(allowed) > 1 {
					t.Fatalf("table error: %v all allowed", allowed)
				}
				for _, role := range allowed {
					t.Run(authzRoleName(role), func(t *testing.T) {
						authzCall(t, e, e.login(role), cmd, tg, true)
					})
				}
				if len(allowed) == 0 && cmd.act == domain.ActDeclare {
					// Nobody may declare for the other establishment: show the
					// 403s were the habilitation's alone by granting it.
					t.Run("responsable-granted", func(t *testing.T) {
						if err := e.users.Grant(string(domain.RoleResponsable), tg.finess); err != nil {
							t.Fatal(err)
						}
						authzCall(t, e, e.login(domain.RoleResponsable), cmd, tg, true)
					})
				}
			})
		}
	}
}

// authzQueries are the query routes; own and other pick the unit or the
// department of the target where the route names one.
var authzQueries = []struct {
	name string
	path func(tg authzTarget) string
}{
	{"units", func(authzTarget) string { return "/api/v1/units" }},
	{"units-filtered", func(tg authzTarget) string { return "/api/v1/units?establishment=" + tg.finess }},
	{"unit", func(tg authzTarget) string { return "/api/v1/units/" + tg.unit }},
	{"matrix", func(authzTarget) string { return "/api/v1/matrix" }},
	{"department-rows", func(tg authzTarget) string { return "/api/v1/departments/" + tg.department + "/rows" }},
	{"freshness", func(authzTarget) string { return "/api/v1/freshness" }},
	{"freshness-missed", func(tg authzTarget) string { return "/api/v1/freshness/overdue?department=" + tg.department }},
	{"session", func(authzTarget) string { return "/api/v1/session" }},
}

func TestAuthzQueryMatrix(t *testing.T) {
	e := newEnv(t)
	head := e.head()
	for _, role := range authzRoles {
		c := e.login(role)
		// Reads need no CSRF token: drop it to show it.
		nc := *c
		nc.csrf = ""
		for _, q := range authzQueries {
			for _, tg := range authzTargets {
				t.Run(authzRoleName(role)+"/"+q.name+"/"+tg.name, func(t *testing.T) {
					res := nc.do("GET", q.path(tg), nil, nil)
					if !authzAllowed(role, domain.ActConsult, tg.own) {
						res.problem(t, http.StatusUnauthorized, "unauthorized")
						return
					}
					if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
						t.Fatalf("GET %s as %s: %d %s", q.path(tg), role, res.status, res.body)
					}
					switch q.name {
					case "unit":
						if res.json["unit_id"] != tg.unit {
							t.Fatalf("GET %s answered %s", q.path(tg), res.body)
						}
					case "units-filtered", "department-rows":
						if n := len(authzList(res, q.name)); n == 0 {
							t.Fatalf("GET %s as %s: no unit of the establishment: %s", q.path(tg), role, res.body)
						}
					case "session":
						if res.json["role"] != string(role) {
							t.Fatalf("GET /session as %s: %s", role, res.body)
						}
					}
				})
			}
		}
	}
	if e.head() != head {
		t.Fatalf("queries moved the head %d -> %d", head, e.head())
	}
}

// GET /api/v1/backup streams the log file: administer, so admins only.
func TestAuthzBackup(t *testing.T) {
	e := newEnv(t)
	head := e.head()
	for _, role := range authzRoles {
		t.Run(authzRoleName(role), func(t *testing.T) {
			res := e.login(role).do("GET", "/api/v1/backup", nil, nil)
			switch {
			case authzAllowed(role, domain.ActAdminister, false):
				if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/octet-stream" || len(res.body) == 0 {
					t.Fatalf("backup as %s: %d %s, %d bytes", role, res.status, res.header.Get("Content-Type"), len(res.body))
				}
			case role == "":
				res.problem(t, http.StatusUnauthorized, "unauthorized")
			default:
				res.problem(t, http.StatusForbidden, "forbidden")
			}
		})
	}
	if e.head() != head {
		t.Fatalf("backups moved the head %d -> %d", head, e.head())
	}
}

func authzList(res response, name string) []any {
	key := "units"
	if name == "department-rows" {
		key = "rows"
	}
	l, _ := res.json[key].([]any)
	return l
}

// Anonymous callers get 401 before anything else is looked at: the body,
// the unit's existence, the CSRF token.
func TestAuthzAnonymousBeforeValidation(t *testing.T) {
	e := newEnv(t)
	anon := e.login("")
	head := e.head()
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/units/77-EG-01/declarations", `{"available":`},
		{"POST", "/api/v1/units/77-EG-01/declarations", `{"available":-1,"installed":1}`},
		{"POST", "/api/v1/units/NO-SUCH-UNIT/declarations", map[string]any{"available": 1, "installed": 2}},
		{"PUT", "/api/v1/units/NO-SUCH-UNIT/closure", map[string]any{"reason": "x"}},
		{"DELETE", "/api/v1/units/NO-SUCH-UNIT/pool", nil},
		{"POST", "/api/v1/units", `not json`},
		{"GET", "/api/v1/units/NO-SUCH-UNIT", nil},
		{"GET", "/api/v1/units?bogus=1", nil},
		{"GET", "/api/v1/matrix?min_position=abc", nil},
		{"GET", "/api/v1/session", nil},
		{"DELETE", "/api/v1/session", nil},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			anon.do(tc.method, tc.path, tc.body, nil).problem(t, http.StatusUnauthorized, "unauthorized")
		})
	}
	if e.head() != head {
		t.Fatal("an anonymous request appended")
	}
}

// Commands allowed but changing nothing answer 200, append nothing and
// leave the head; refused ones are refused even when they would change
// nothing (the habilitation is checked before the decision).
func TestAuthzNoOpCommands(t *testing.T) {
	e := newEnv(t)
	resp, admin, pro := e.login(domain.RoleResponsable), e.login(domain.RoleAdmin), e.login(domain.RoleProfessionnel)
	same := map[string]any{"finess": finessEG, "establishment": "EG", "department": "77", "type": "udm", "name": "Unité de dialyse médicalisée"}
	for _, tc := range []struct {
		name    string
		c       *client
		method  string
		path    string
		body    any
		allowed bool
	}{
		{"responsable clears no comment", resp, "DELETE", "/api/v1/units/77-EG-01/comment", nil, true},
		{"responsable sets an empty comment", resp, "PUT", "/api/v1/units/77-EG-01/comment", map[string]any{"comment": ""}, true},
		{"admin changes details to the same", admin, "PUT", "/api/v1/units/77-EG-01", same, true},
		{"admin clears no comment", admin, "DELETE", "/api/v1/units/77-EG-01/comment", nil, false},
		{"professionnel clears no comment", pro, "DELETE", "/api/v1/units/77-EG-01/comment", nil, false},
		{"responsable clears no comment elsewhere", resp, "DELETE", "/api/v1/units/75-OTHER-01/comment", nil, false},
		{"responsable changes details to the same", resp, "PUT", "/api/v1/units/77-EG-01", same, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			res := tc.c.do(tc.method, tc.path, tc.body, nil)
			if tc.allowed {
				if res.status != http.StatusOK || res.json["appended"].(float64) != 0 {
					t.Fatalf("got %d %s, want 200 appending nothing", res.status, res.body)
				}
				if pos := uint64(res.json["position"].(float64)); pos > e.head() {
					t.Fatalf("no-op answered position %d beyond the head %d", pos, e.head())
				}
			} else {
				res.problem(t, http.StatusForbidden, "forbidden")
			}
			if e.head() != before {
				t.Fatalf("head moved %d -> %d", before, e.head())
			}
		})
	}
}

// A bearer token authenticates without cookie nor CSRF token, with its
// user's habilitations; a bad one is a 401 and appends nothing.
func TestAuthzBearerToken(t *testing.T) {
	e := newEnv(t)
	token := func(role domain.Role) map[string]string {
		tok, err := e.users.NewToken(string(role))
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"Authorization": "Bearer " + tok}
	}
	anon := e.login("") // no cookie, no CSRF token
	respTok, adminTok, proTok := token(domain.RoleResponsable), token(domain.RoleAdmin), token(domain.RoleProfessionnel)

	before := e.head()
	res := anon.do("POST", "/api/v1/units/77-EG-01/declarations", map[string]any{"available": 2, "installed": 20}, respTok)
	if res.status != http.StatusOK || e.head() != before+1 {
		t.Fatalf("declare with a bearer token: %d %s, head %d -> %d", res.status, res.body, before, e.head())
	}
	res = anon.do("PUT", "/api/v1/units/77-EG-02/closure", map[string]any{"reason": "travaux"}, respTok)
	if res.status != http.StatusOK || e.head() != before+2 {
		t.Fatalf("close with a bearer token: %d %s", res.status, res.body)
	}
	res = anon.do("POST", "/api/v1/units", map[string]any{"unit_id": "77-EG-05", "finess": finessEG, "establishment": "EG",
		"department": "77", "type": "autodialyse", "name": "Auto dialyse 2"}, adminTok)
	if res.status != http.StatusCreated || res.header.Get("Location") != "/api/v1/units/77-EG-05" || e.head() != before+3 {
		t.Fatalf("register with a bearer token: %d %s", res.status, res.body)
	}
	if res := anon.do("GET", "/api/v1/matrix", nil, proTok); res.status != http.StatusOK {
		t.Fatalf("matrix with a bearer token: %d %s", res.status, res.body)
	}
	if res := anon.do("GET", "/api/v1/session", nil, respTok); res.status != http.StatusOK || res.json["user_id"] != "responsable" || res.json["csrf_token"] != nil {
		t.Fatalf("session with a bearer token: %d %s", res.status, res.body)
	}

	before = e.head()
	for _, tc := range []struct {
		name   string
		header map[string]string
		path   string
		status int
		code   string
	}{
		{"token of a role that may not declare", proTok, "/api/v1/units/77-EG-01/declarations", 403, "forbidden"},
		{"token of an admin declaring", adminTok, "/api/v1/units/77-EG-01/declarations", 403, "forbidden"},
		{"responsable token on another establishment", respTok, "/api/v1/units/75-OTHER-01/declarations", 403, "forbidden"},
		{"unknown token", map[string]string{"Authorization": "Bearer dispo_" + strings.Repeat("A", 43)}, "/api/v1/units/77-EG-01/declarations", 401, "unauthorized"},
		{"empty token", map[string]string{"Authorization": "Bearer "}, "/api/v1/units/77-EG-01/declarations", 401, "unauthorized"},
		{"basic scheme", map[string]string{"Authorization": "Basic cmVzcG9uc2FibGU6cGFzc3dvcmQ="}, "/api/v1/units/77-EG-01/declarations", 401, "unauthorized"},
		{"bad token on a read", map[string]string{"Authorization": "Bearer nope"}, "/api/v1/matrix", 401, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, body := "POST", any(map[string]any{"available": 1, "installed": 20})
			if strings.HasSuffix(tc.path, "/matrix") {
				method, body = "GET", nil
			}
			anon.do(method, tc.path, body, tc.header).problem(t, tc.status, tc.code)
			if e.head() != before {
				t.Fatal("a refused bearer request appended")
			}
		})
	}

	// A bad bearer token is not rescued by a valid session cookie.
	resp := e.login(domain.RoleResponsable)
	resp.do("POST", "/api/v1/units/77-EG-01/declarations", map[string]any{"available": 1, "installed": 20},
		map[string]string{"Authorization": "Bearer nope"}).problem(t, http.StatusUnauthorized, "unauthorized")
	// Revoked tokens stop working at once.
	if _, err := e.users.RevokeTokens(string(domain.RoleResponsable)); err != nil {
		t.Fatal(err)
	}
	anon.do("POST", "/api/v1/units/77-EG-01/declarations", map[string]any{"available": 1, "installed": 20}, respTok).
		problem(t, http.StatusUnauthorized, "unauthorized")
	if e.head() != before {
		t.Fatal("a refused bearer request appended")
	}
}

// A write authenticated by the session cookie needs the session's CSRF
// token: without it, or with a wrong one, 403 and nothing appended, for every
// command route, even for the caller allowed to run it (who then does, with
// the token, to show the state was such that the command would append).
func TestAuthzCSRF(t *testing.T) {
	own := authzTargets[0]
	for _, cmd := range authzCommands {
		t.Run(cmd.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if cmd.setup != nil {
				cmd.setup(t, e, own)
			}
			role := domain.RoleResponsable
			if cmd.act == domain.ActAdminister {
				role = domain.RoleAdmin
			}
			c := e.login(role)
			var body any
			if cmd.body != nil {
				body = cmd.body(own)
			}
			for _, csrf := range []string{"", "wrong-" + c.csrf, c.csrf[:len(c.csrf)-1]} {
				before := e.head()
				nc := *c
				nc.csrf = ""
				var h map[string]string
				if csrf != "" {
					h = map[string]string{"X-CSRF-Token": csrf}
				}
				nc.do(cmd.method, cmd.path(own), body, h).problem(t, http.StatusForbidden, "forbidden")
				if e.head() != before {
					t.Fatalf("a write without the right CSRF token (%q) appended", csrf)
				}
			}
			// Another session's token is no better.
			other := e.login(role)
			before := e.head()
			nc := *c
			nc.csrf = other.csrf
			nc.do(cmd.method, cmd.path(own), body, nil).problem(t, http.StatusForbidden, "forbidden")
			if e.head() != before {
				t.Fatal("a write with another session's CSRF token appended")
			}
			authzCall(t, e, c, cmd, own, true)
		})
	}
}
