// Package httpauth logs people and machines into dispo's JSON API: session
// cookies with a CSRF token for the web front, bearer tokens for machine
// clients, and throttling of failed logins. It knows nothing of routes but
// the login's path; adapters/httpapi mounts its handlers and middleware.
//
// # Endpoints
//
//	POST   /api/v1/session   LoginHandler: {"identifier","password"} -> 201 and a session
//	GET    /api/v1/session   MeHandler: who is logged in (and the CSRF token again)
//	DELETE /api/v1/session   LogoutHandler: ends the session (CSRF token required)
//
// Login answers 201 with {"user_id","role","establishments","csrf_token",
// "expires_at"} and sets the session cookie. Any failure of the credentials
// answers 401 "unauthorized" with one detail, whatever was wrong: the
// answer never tells whether the identifier exists (the user store also
// spends the time of a hash on unknown identifiers).
//
// # Sessions
//
// A session id is 32 random bytes (base64url) in the cookie "dispo_session":
// HttpOnly, SameSite=Strict, Path=/, Secure when Config.Secure is set or the
// request came over TLS, and no Max-Age (the browser drops it when it
// closes). The server keeps sessions in memory, keyed by the SHA-256 of the
// id; a restart logs everyone out. A session ends after SessionTTL (default
// 8 h) from login whatever happens, or after IdleTimeout (default 30 min)
// without a request; each authenticated request slides the idle deadline.
// "expires_at" is when the session ends if left idle: the earlier of the two.
// A user holds at most MaxSessionsPerUser sessions (default 16); logging in
// once more ends the least recently used. Expired sessions are dropped when
// met, and all of them by Sweep, which logins call at most once a minute.
//
// Each authenticated request asks the user store for the user's current
// principal: a change of role or habilitation applies at once, and the
// sessions of a removed user end at their next request. A password change
// does not end sessions in force.
//
// # CSRF
//
// A request authenticated by the cookie with a method other than GET, HEAD,
// OPTIONS or TRACE must carry the header X-CSRF-Token equal to the session's
// token (given at login and by GET /session; compared in constant time),
// else it is answered 403 "forbidden". POST on the login path needs none:
// it authenticates nobody by the cookie, and its required Content-Type
// application/json cannot be sent cross-site without a CORS preflight.
//
// # Bearer tokens
//
// "Authorization: Bearer <token>" authenticates a machine client (tokens
// are issued by `dispo users token`); it needs no CSRF token since browsers
// never send it on their own. A request with both uses the token. A token
// that does not authenticate is answered 401 at once.
//
// Requests without credentials (or with a cookie of an ended session, which
// is then cleared) pass through without a principal: the API decides per
// route what needs a login, or wraps routes in Require.
//
// # Throttling
//
// At most MaxFailuresPerIdentifier (default 5) failed logins per identifier
// and MaxFailuresPerAddress (default 20: hospitals put many people behind
// one address) per client address in any FailureWindow (default 15 min).
// An attempt beyond is refused, without checking the password, with 429
// "too_many_requests" and Retry-After: the seconds until the oldest of those
// failures leaves the window. Refused attempts are not counted, so the
// limit is a rate (5 guesses per 15 minutes), not a lockout that an
// attacker could prolong. An attempt counts as a failure from its start, so
// concurrent attempts cannot overrun the limit; a successful login clears
// its identifier's failures (not its address's). Identifiers that cannot
// exist (not of the store's shape) are limited per address only. The
// address is the host of the connection's remote address, or with
// TrustProxy the last entry of X-Forwarded-For (the one the trusted proxy
// added); IPv6 addresses are grouped by /64. Each table keeps at most 10000
// keys, dropping the stalest first.
package httpauth
