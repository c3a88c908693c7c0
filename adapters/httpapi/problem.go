package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"dispo/adapters/httpauth"
	"dispo/domain"
)

// Problem is an RFC 9457 problem detail. Code is the stable,
// machine-readable reason clients switch on.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	// Field names what was refused when it is one thing the client sent:
	// a query parameter, a key of the JSON body.
	Field string `json:"field,omitempty"`
	// Current is the resource as it is now, on a 412: the client can merge
	// and retry without another round trip.
	Current any `json:"current,omitempty"`
}

// API error codes beyond the domain's: part of the API, do not change.
const (
	codePreconditionFailed   = "precondition_failed"
	codeUnauthorized         = "unauthorized"
	codeTooLarge             = "too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeUnavailable          = "unavailable"
	codeMethodNotAllowed     = "method_not_allowed"
	codeNotAcceptable        = "not_acceptable"
	codeNotReady             = "not_ready"
	codeUnknownParameter     = "unknown_parameter"
	codeRepeatedParameter    = "repeated_parameter"
	codeMalformedQuery       = "malformed_query"
	codeUnknownField         = "unknown_field"
	codeDuplicateKey         = "duplicate_key"
	codeIdempotencyKeyReused = "idempotency_key_reused"
)

// statuses maps every code to its HTTP status: the one table.
var statuses = map[string]int{
	domain.EInvalid:             http.StatusBadRequest,
	domain.ENotFound:            http.StatusNotFound,
	domain.EConflict:            http.StatusConflict,
	domain.EUnitClosed:          http.StatusConflict,
	domain.EUnitRetired:         http.StatusConflict,
	domain.EForbidden:           http.StatusForbidden,
	domain.EInternal:            http.StatusInternalServerError,
	codePreconditionFailed:      http.StatusPreconditionFailed,
	codeUnauthorized:            http.StatusUnauthorized,
	codeTooLarge:                http.StatusRequestEntityTooLarge,
	codeUnsupportedMediaType:    http.StatusUnsupportedMediaType,
	codeUnavailable:             http.StatusServiceUnavailable,
	codeMethodNotAllowed:        http.StatusMethodNotAllowed,
	codeNotAcceptable:           http.StatusNotAcceptable,
	codeNotReady:                http.StatusServiceUnavailable,
	codeUnknownParameter:        http.StatusBadRequest,
	codeRepeatedParameter:       http.StatusBadRequest,
	codeMalformedQuery:          http.StatusBadRequest,
	codeUnknownField:            http.StatusBadRequest,
	codeDuplicateKey:            http.StatusBadRequest,
	codeIdempotencyKeyReused:    http.StatusUnprocessableEntity,
	domain.ECommentInvisible:    http.StatusBadRequest,
	httpauth.CodeLoginThrottled: http.StatusTooManyRequests,
}

// titles are in French, as every message the users read; the code stays
// the stable key clients switch on.
var titles = map[string]string{
	domain.EInvalid:             "Requête invalide",
	domain.ENotFound:            "Introuvable",
	domain.EConflict:            "Conflit avec l'état de l'UO",
	domain.EUnitClosed:          "UO en indisponibilité totale, saisie bloquée",
	domain.EUnitRetired:         "UO retirée du répertoire",
	domain.EForbidden:           "Action non autorisée pour votre profil",
	domain.EInternal:            "Erreur interne",
	codePreconditionFailed:      "L'UO a changé depuis votre lecture",
	codeUnauthorized:            "Identification requise",
	codeTooLarge:                "Corps de la requête trop volumineux",
	codeUnsupportedMediaType:    "Type de contenu non pris en charge",
	codeUnavailable:             "Service momentanément indisponible",
	codeMethodNotAllowed:        "Méthode non autorisée",
	codeNotAcceptable:           "Format de réponse non disponible",
	codeNotReady:                "Pas encore prêt : les projections rattrapent le journal",
	codeUnknownParameter:        "Paramètre inconnu",
	codeRepeatedParameter:       "Paramètre répété",
	codeMalformedQuery:          "Chaîne de requête mal formée",
	codeUnknownField:            "Champ inconnu",
	codeDuplicateKey:            "Clé répétée dans le corps JSON",
	codeIdempotencyKeyReused:    "Idempotency-Key déjà utilisée pour une autre requête",
	domain.ECommentInvisible:    "Caractères invisibles dans le commentaire",
	httpauth.CodeLoginThrottled: "Trop d'échecs d'identification : patientez avant de réessayer",
}

// writeProblem answers with a problem of the given code.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, code, detail string, current any) {
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	problem(w, r, status, code, "", detail, current)
}

// fieldProblem answers with a problem about one parameter or key the
// client sent.
func (s *Server) fieldProblem(w http.ResponseWriter, r *http.Request, code, field, detail string) {
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	problem(w, r, status, code, field, detail, nil)
}

func problem(w http.ResponseWriter, r *http.Request, status int, code, field, detail string, current any) {
	title := titles[code]
	if title == "" {
		title = http.StatusText(status)
	}
	p := Problem{Type: "urn:dispo:problem:" + code, Title: title, Status: status, Detail: detail,
		Instance: r.URL.Path, Code: code, Field: field, Current: current}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// WriteProblem writes a problem with an HTTP status chosen by the caller's
// code, about field ("" for none); httpauth answers through it so that
// every error of the API has one shape. A function, not a method: the login
// machinery is built before the Server it is given to.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, code, field, detail string) {
	problem(w, r, status, code, field, detail, nil)
}

// writeError maps err through the domain's vocabulary. Internal errors are
// logged, and their details are not shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var api *apiError
	if errors.As(err, &api) {
		s.fieldProblem(w, r, api.code, api.field, api.msg)
		return
	}
	code := domain.ErrorCode(err)
	var unavailable interface{ Unavailable() bool }
	if errors.As(err, &unavailable) && unavailable.Unavailable() {
		s.writeProblem(w, r, codeUnavailable, "le journal des événements est indisponible : réessayez plus tard", nil)
		return
	}
	if code == domain.EInternal {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		s.writeProblem(w, r, code, "erreur interne", nil)
		return
	}
	s.fieldProblem(w, r, code, domain.ErrorField(err), domain.ErrorMessage(err))
}
