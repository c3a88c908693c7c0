package httpauth

import (
	"net/http"

	"dispo/adapters/adminsock"
	"dispo/adapters/userfile"
	"dispo/domain"
)

// AdminLogout and AdminUnlock answer the admin commands of AdminRoutes.
type (
	AdminLogout struct {
		User          string `json:"user"`
		SessionsEnded int    `json:"sessions_ended"`
	}
	AdminUnlock struct {
		User        string `json:"user"`
		KeysCleared int    `json:"keys_cleared"` // 0: the identifier was not slowed down
	}
)

// AdminRoutes adds the administration commands of logins to mux, for the
// admin socket (adapters/adminsock), which only the server's own user can
// reach:
//
//	POST /v1/users/{id}/logout  EndSessions(id): {"user","sessions_ended"}
//	POST /v1/users/{id}/unlock  Unlock(id): {"user","keys_cleared"}
//
// An identifier not of the store's shape is refused 400 invalid; an
// unknown user is not an error (its sessions may outlive it until their
// next request).
func (a *Auth) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/users/{id}/logout", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := adminID(w, r); ok {
			adminsock.WriteJSON(w, http.StatusOK, AdminLogout{id, a.EndSessions(id)})
		}
	})
	mux.HandleFunc("POST /v1/users/{id}/unlock", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := adminID(w, r); ok {
			adminsock.WriteJSON(w, http.StatusOK, AdminUnlock{id, a.Unlock(id)})
		}
	})
}

func adminID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !userfile.ValidID(id) {
		adminsock.WriteProblem(w, http.StatusBadRequest, domain.EInvalid, "identifiant invalide : 1 à 64 caractères parmi A-Z a-z 0-9 . _ @ -")
		return "", false
	}
	return id, true
}
