package web

import (
	"net/http"
	"strconv"
)

type errorView struct {
	Status  int
	Heading string
	Detail  string
	Retry   bool // 503: the page reloads itself
	Login   bool // 401: offer the login page
}

var errorHeadings = map[int]string{
	http.StatusBadRequest:            "Requête incorrecte",
	http.StatusUnauthorized:          "Connexion nécessaire",
	http.StatusForbidden:             "Accès refusé",
	http.StatusNotFound:              "Page introuvable",
	http.StatusRequestEntityTooLarge: "Formulaire trop volumineux",
	http.StatusInternalServerError:   "Erreur interne",
	http.StatusServiceUnavailable:    "Service en cours de démarrage",
}

var errorDetails = map[int]string{
	http.StatusUnauthorized:        "Votre session a pris fin : connectez-vous de nouveau.",
	http.StatusForbidden:           "Votre profil ne permet pas d'ouvrir cette page.",
	http.StatusNotFound:            "Aucune page à cette adresse. Vérifiez le lien, ou repartez de la consultation.",
	http.StatusInternalServerError: "Une erreur est survenue de notre côté ; elle est consignée. Réessayez dans un instant ; si elle persiste, contactez le support.",
	http.StatusServiceUnavailable:  "Le service rattrape le journal des disponibilités ; cette page se rechargera d'elle-même.",
}

// errorPage answers a French HTML error page. detail, if given, says what
// was wrong; internal details are never shown.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, detail string) {
	if status == http.StatusInternalServerError || detail == "" {
		detail = errorDetails[status]
	}
	v := errorView{Status: status, Heading: errorHeadings[status], Detail: detail,
		Retry: status == http.StatusServiceUnavailable, Login: status == http.StatusUnauthorized}
	if v.Heading == "" {
		v.Heading = "Erreur " + strconv.Itoa(status)
	}
	s.renderWith(w, r, status, "error", v.Heading, false, v, func(l *layout) {
		if v.Retry {
			l.Refresh = 5
		}
	})
}

// WriteProblem answers a refusal of the login machinery (a CSRF token
// missing from a form, a bearer token that is not valid) as a page:
// httpauth.Config.Problem for the requests the pages serve.
func (s *Server) WriteProblem(w http.ResponseWriter, r *http.Request, status int, code, field, detail string) {
	if status == http.StatusForbidden && field != "" {
		detail = "le formulaire a expiré ou vient d'un autre site (jeton de sécurité absent ou erroné) : rechargez la page et recommencez"
	}
	s.errorPage(w, r, status, detail)
}

func formatSeconds(secs float64) string { return strconv.Itoa(int(secs + 0.5)) }
