package fhir

import (
	"strings"

	"dispo/domain"
	"dispo/projections"
)

// A unit's own indicators, as a PATCH finds them: on a pooled unit the
// available figure is the pool's, the installed and closed ones its own.
type unitIndicator struct {
	status, closing string
}

func unitIndicators(u *projections.UnitView) []unitIndicator {
	if u.LastDeclaredAt.IsZero() {
		return nil // nothing declared: nothing to replace, add comes first
	}
	return []unitIndicator{{status: statusAvailable}, {status: statusInstalled}, {status: statusClosed, closing: closingOf(u)}}
}

// closingOf is the closing type of a unit's closed places: its closure's
// when it is closed, else its last declaration's, else 03 Indéterminé.
func closingOf(u *projections.UnitView) string {
	switch {
	case u.Closure != nil && u.Closure.Reopenable:
		return closingReopenable
	case u.Closure != nil:
		return closingNotReopenable
	case u.ClosingType != "":
		return u.ClosingType
	}
	return closingUnknown
}

// has says whether the indicator's sub-extension part holds code. dispo's
// figures are not split by gender: the codes that say so (03
// Indifférencié, 04 Indéterminé) name them.
func (in unitIndicator) has(u *projections.UnitView, part, code string) bool {
	switch part {
	case "capacityStatus":
		return code == in.status
	case "capacityType":
		return code == natureOf(u.Type)
	case "temporalityCapacity":
		return code == temporalityCurrent
	case "temporaryAssignement":
		return code == assignmentNone
	case "genderCapacityAvailable":
		return code == "03" || code == "04"
	case "capacityClosingType":
		return in.status == statusClosed && code == in.closing
	case "capacitySourceType":
		src := u.CapacitySource
		if src == "" {
			src = domain.CapacitySourceManual
		}
		return code == src
	}
	return false // additionalBedType, crisisType: dispo keeps neither
}

// codeLists are the codes each coded part admits (the IG's value sets).
var codeLists = map[string]map[string]string{
	"capacityType":            natureLabels,
	"capacityStatus":          statusLabels,
	"temporalityCapacity":     temporalityLabels,
	"capacitySourceType":      sourceLabels,
	"genderCapacityAvailable": genderLabels,
	"capacityClosingType":     closingLabels,
	"temporaryAssignement":    assignmentLabels,
	"additionalBedType":       {"01": "Mobilisé", "02": "Mobilisable sans ressources humaines", "03": "Mobilisable avec ressources humaines"},
	"crisisType":              {"01": "PMIE", "02": "Situation sanitaire Exceptionnelle (SSE) (Plan blanc)"},
}

// keyParts are the parts that name an indicator, in the order the
// national answers list them.
var keyParts = []string{"capacityStatus", "temporalityCapacity", "genderCapacityAvailable", "capacityClosingType", "additionalBedType", "crisisType", "temporaryAssignement"}

func describeKey(get func(part string) (string, bool)) string {
	parts := make([]string, len(keyParts))
	for i, p := range keyParts {
		v, ok := get(p)
		if !ok {
			v = "null"
		}
		parts[i] = p + ": " + v
	}
	return strings.Join(parts, " / ")
}

var capacityExpr = []string{"Location.extension('" + ExtCapacity + "')"}

// figures apply a PATCH's operations to unit u: the declaration they make,
// or the national answer that refuses them.
func figures(u *projections.UnitView, ops []patchOp) (domain.DeclareAvailability, error) {
	nature := natureOf(u.Type)
	have := unitIndicators(u)
	// Each operation sets its figure; the others stay as last declared (a
	// unit that never declared starts from none; a pooled one's available
	// figure is its pool's whatever).
	decl := domain.DeclareAvailability{Available: u.Available, Installed: u.Installed, ClosedPlaces: u.ClosedPlaces, ClosingType: u.ClosingType}
	if u.LastDeclaredAt.IsZero() {
		decl = domain.DeclareAvailability{}
		if u.Pool != nil {
			decl.Available = u.Available
		}
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if op.kind == "replace" {
			if err := validCriteria(op.criteria); err != nil {
				return decl, err
			}
			found := false
			for _, in := range have {
				match := true
				for part, code := range op.criteria {
					match = match && in.has(u, part, code)
				}
				if match {
					found = true
					if op.value.codes["capacityStatus"].code != in.status {
						return decl, refuse(400, "business-rule", capacityExpr,
							"Les valeurs du nouvel objet ne correspondent pas à l'indicateur visé : capacityStatus %s au lieu de %s", op.value.codes["capacityStatus"].code, in.status)
					}
				}
			}
			if !found {
				return decl, &outcomeError{status: 404, code: "not-found", expression: []string{capacityPath},
					detail: "Les données fournies ne permettent pas de déterminer l'indicateur à mettre à jour: Aucun indicateur présent en base ne correspond"}
			}
		}
		v := op.value
		if c, ok := v.codes["capacityType"]; ok && c.code != nature {
			return decl, refuse(400, "business-rule", []string{capacityExpr[0] + ".extension('capacityType')"},
				"Indicateur INDICATEUR_INCONNU : L'attribut 'natureCapacite' a un code différent de celui attendu (%s %s pour cette UO)", nature, natureLabels[nature])
		}
		status := v.codes["capacityStatus"].code
		if !validValue(v) {
			return decl, refuse(400, "business-rule", capacityExpr, "Les valeurs du nouvel objet ne correspondent pas à un indicateur valide : %s",
				describeKey(func(p string) (string, bool) { c, ok := v.codes[p]; return c.code, ok }))
		}
		if seen[status] {
			return decl, refuse(400, "business-rule", capacityExpr, "deux opérations portent sur l'indicateur capacityStatus %s : une seule par PATCH", status)
		}
		seen[status] = true
		switch status {
		case statusAvailable:
			decl.Available = *v.n
		case statusInstalled:
			decl.Installed = *v.n
		case statusClosed:
			decl.ClosedPlaces = *v.n
			decl.ClosingType = v.codes["capacityClosingType"].code // "" when not said
		}
	}
	return decl, nil
}

// validCriteria: a replace must name an indicator with codes of its value
// sets, its status among them.
func validCriteria(crit map[string]string) error {
	ok := crit["capacityStatus"] != ""
	for part, code := range crit {
		list, known := codeLists[part]
		if !known {
			ok = false
			break
		}
		if _, in := list[code]; !in {
			ok = false
		}
	}
	if ok {
		return nil
	}
	return refuse(400, "business-rule", nil, "Les critères du FhirPath ne correspondent pas à un indicateur valide : %s",
		describeKey(func(p string) (string, bool) { c, ok := crit[p]; return c, ok }))
}

// validValue: the indicators dispo keeps are current, with no temporary
// assignment, for all genders, of a status among available, installed and
// closed places; every code is of its value set.
func validValue(v indicatorIn) bool {
	for part, c := range v.codes {
		if _, ok := codeLists[part][c.code]; !ok {
			return false
		}
	}
	switch v.codes["capacityStatus"].code {
	case statusAvailable, statusInstalled, statusClosed:
	default:
		return false
	}
	if v.codes["temporalityCapacity"].code != temporalityCurrent || v.codes["temporaryAssignement"].code != assignmentNone {
		return false
	}
	if g, ok := v.codes["genderCapacityAvailable"]; ok && g.code != "03" && g.code != "04" {
		return false
	}
	_, bed := v.codes["additionalBedType"]
	_, crisis := v.codes["crisisType"]
	return !bed && !crisis
}

// domainRefusal turns the rule book's refusal of a declaration into the
// national answer: a business rule broken.
func domainRefusal(err error) *outcomeError {
	msg := domain.ErrorMessage(err)
	switch domain.ErrorCode(err) {
	case domain.EUnitClosed:
		return refuse(400, "business-rule", capacityExpr, "L'UO est fermée (indisponibilité totale) : saisie bloquée jusqu'à sa réouverture. %s", msg)
	case domain.EInvalid, domain.EConflict:
		return refuse(400, "business-rule", capacityExpr, "%s", msg)
	case domain.EForbidden:
		return refuse(403, "forbidden", nil, "%s", msg)
	case domain.ENotFound:
		return refuse(404, "not-found", []string{"Location"}, "%s", msg)
	}
	return nil
}
