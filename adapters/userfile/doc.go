// Package userfile is dispo's user store: the logins, their roles and
// habilitations, kept in one JSON file that a person can read.
//
// A Store is safe for concurrent use. It looks at the file's identity,
// modification time and size before every operation (one stat) and reloads
// it when another process changed it, so that `dispo users ...` run while
// the server runs takes effect on the next request. Every change reloads
// the file first, then writes it whole to a temporary file in the same
// directory (mode 0600), syncs it, renames it over the old one and syncs the
// directory: a reader sees the old file or the new one, never a mix. Two
// processes changing the file at the very same instant: the last rename wins.
//
// # The file
//
// UTF-8 JSON, written indented with the users sorted by id. An unknown key,
// trailing data or a rule broken anywhere makes the whole file refused
// ("damaged or foreign file") and nobody can log in until it is repaired:
// the store fails closed. A missing file is an empty store; the first change
// creates it.
//
//	{
//	  "format": "dispo-users",      required, part of the format, do not change
//	  "version": 1,                 required, part of the format
//	  "users": [
//	    {
//	      "id": "resp-770110054",   1 to 64 of A-Z a-z 0-9 . _ @ -, unique
//	      "name": "Jeanne Martin",  optional display name, at most 128 characters
//	      "role": "responsable",    responsable, professionnel, analyst, auditor
//	                                or admin (never system: that is the service)
//	      "establishments": [       FINESS numbers, sorted, no repeats; only a
//	        "770110054"             responsable holds any
//	      ],
//	      "password": "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>",
//	      "tokens": [               bearer tokens of machine clients: only the
//	        {                       SHA-256 of the printed token, lowercase hex
//	          "sha256": "9f86d0...",
//	          "created_at": "2025-03-06T15:00:00Z"
//	        }
//	      ],
//	      "created_at": "2025-03-06T15:00:00Z",   UTC, whole seconds
//	      "updated_at": "2025-03-06T15:00:00Z"
//	    }
//	  ]
//	}
//
// The password is the PHC string of argon2id (version 19): memory in KiB,
// passes and lanes, then the 16-byte salt and the 32-byte key in unpadded
// standard base64. Verification uses the parameters stored with each hash, so
// changing Params later does not lock anyone out.
//
// # Password policy
//
// New passwords (Add, SetPassword) follow CheckPassword, after NIST SP
// 800-63B: 12 to 256 characters, any of them; not the identifier nor
// containing it; not a common password of common-passwords.txt (embedded:
// its header names its sources and size) nor one with digits or signs
// around it; at least 5 different characters. A refusal is a
// *PasswordError: EInvalid, a French message, a stable Reason. Passwords
// set before the policy (10 characters at least) still log in.
//
// # Secrets
//
// Passwords are never stored, logged nor returned; hashes never leave the
// package (List and Get show no secrets). A bearer token is printed once by
// NewToken and only its SHA-256 is kept: 32 random bytes need no slow hash.
package userfile
