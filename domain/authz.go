package domain

import "slices"

// Principal is an authenticated user as the rules see it: a role and the
// establishments (FINESS) it is habilitated for.
type Principal struct {
	UserID         string
	Role           Role
	Establishments []string
	// CapacitySource is, for a program's account (bed-management software
	// feeding the directory), the national code its declarations carry
	// (see AvailabilityDeclared); "" for a person.
	CapacitySource string
}

// Action is what a principal asks to do.
type Action string

const (
	ActConsult    Action = "consult"    // read availability: units, matrix, detail, freshness
	ActDeclare    Action = "declare"    // declare, comment, close and reopen a unit
	ActAdminister Action = "administer" // register units, change their details, pool them
	ActTrends     Action = "trends"     // read the agency's weekly trends
	ActHistory    Action = "history"    // read a unit's full history
	ActCorrect    Action = "correct"    // correct a unit's last declaration
)

// Authorize returns nil if p may do act on a unit of establishment finess
// (empty when the action concerns no unit), or an EForbidden *Error. The
// whole habilitation table lives here so that every door applies the same:
//
//	consult     every role
//	declare     responsable, for its own establishments only
//	administer  admin
//	trends      analyst, admin
//	history     auditor, admin; responsable for its own establishments
//	correct     admin; responsable for its own establishments
func Authorize(p Principal, act Action, finess string) error {
	own := finess != "" && slices.Contains(p.Establishments, finess)
	ok := false
	switch act {
	case ActConsult:
		ok = ValidRole(p.Role)
	case ActDeclare:
		ok = p.Role == RoleResponsable && own
	case ActAdminister:
		ok = p.Role == RoleAdmin
	case ActTrends:
		ok = p.Role == RoleAnalyst || p.Role == RoleAdmin
	case ActHistory:
		ok = p.Role == RoleAuditor || p.Role == RoleAdmin || p.Role == RoleResponsable && own
	case ActCorrect:
		ok = p.Role == RoleAdmin || p.Role == RoleResponsable && own
	}
	if ok {
		return nil
	}
	if (act == ActDeclare || act == ActCorrect || act == ActHistory) && p.Role == RoleResponsable {
		return Errorf(EForbidden, "l'utilisateur %s n'est pas habilité pour l'établissement %s", p.UserID, finess)
	}
	return Errorf(EForbidden, "le profil %q ne permet pas de %s", p.Role, actionLabels[act])
}

// actionLabels say in French what each action is, for refusals.
var actionLabels = map[Action]string{
	ActConsult:    "consulter les disponibilités",
	ActDeclare:    "déclarer les disponibilités d'une UO",
	ActAdminister: "administrer le répertoire",
	ActTrends:     "lire les tendances hebdomadaires",
	ActHistory:    "lire l'historique d'une UO",
	ActCorrect:    "corriger une déclaration",
	"":            "faire cette action",
}

// Actor is p acting on a unit of establishment finess: what events record.
func (p Principal) Actor(finess string) Actor {
	a := Actor{UserID: p.UserID, Role: p.Role}
	if slices.Contains(p.Establishments, finess) {
		a.Establishment = finess
	}
	return a
}
