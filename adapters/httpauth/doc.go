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
// principal: a change of habilitation applies at once, and the sessions of
// a removed user end at their next request. When the store is a Stamper
// (userfile.Store is), a session also ends at its next request once its
// user's password or role changed, whichever process changed the file:
// the session remembers the user's credential stamp at login. EndSessions
// ends a user's sessions at once (dispo users logout, over the admin
// socket).
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
// Failed logins slow down the next attempts of their key, never lock it:
// after a number of free failures, each failure makes the key's next
// attempt wait LoginDelay (1 s), then twice as long at each failure, up to
// a cap. An attempt made too early is refused, without checking the
// password, with 429 "login_throttled" and Retry-After (seconds), and
// changes nothing: knocking during a delay does not prolong it. An attempt
// counts as a failure from its start, so concurrent attempts cannot
// overrun a limit. A key is forgotten FailureMemory (1 h) after its last
// failure.
//
// The keys of an attempt depend on its device cookie "dispo_device", which
// a successful login sets (HttpOnly, SameSite=Strict, Path the login path,
// 30 days; an HMAC binds it to the identifier, under a key that lives as
// long as the process):
//
//   - without a device cookie valid for the identifier: the identifier,
//     whatever the address (5 free failures, cap 15 min), and the client
//     address (20 free failures, cap 1 min: a hospital's NAT puts a whole
//     staff behind one address, so an address is slowed, never held for
//     long). A success takes back its own attempt only: the failures left
//     are the attacker's, and clearing them would give him his free
//     failures back.
//   - with one: the pair of identifier and device only (5 free, cap 15
//     min), cleared by a success. A user on a browser where she logged in
//     before is held up neither by an attack on her identifier from
//     elsewhere nor by her address's failures.
//
// So against one account, from any number of addresses, a guesser without
// the password (hence without a device cookie of that account) gets at
// most 17 password checks in any hour: 5 free, then after delays of 1, 2,
// 4 ... 512 s (10 more within 1023 s), then one every 15 min (2 more
// within the hour); 4 an hour after that. To start again from the free
// failures he must stop for an hour. Meanwhile the user logs in on her own
// browser at any time, from any address. On a browser that never logged in
// as her, she waits as the attacker does (at most 15 min between checks,
// which the attacker may take first); Unlock (dispo users unlock) lets her
// in at once.
//
// Identifiers that cannot exist (not of the store's shape) are limited per
// address only; those of no user are limited as users' are, so that the
// answers do not tell which exist. The address is the host of the
// connection's remote address, or with TrustProxy the last entry of
// X-Forwarded-For (the one the trusted proxy added); IPv4-mapped IPv6 is
// IPv4, and IPv6 is grouped by /64 (one subscriber's network). Each table
// keeps at most 10000 keys: when full, it drops the expired keys, then
// those with the fewest failures, oldest first, and users' identifiers
// after all others, so that spraying other identifiers does not give an
// attacked user's key its free failures back.
package httpauth
