package domain

import (
	"time"
)

// The rule book: the one statement of a unit's rules. Decide judges the
// events a command proposes by it, imports judge the events a file holds
// by it, so a command and an import can never disagree on what a unit may
// record. A rule added later judges only the events recorded since it took
// effect: events are facts, and an old export must still import. A command
// is always judged by every rule: what it proposes is recorded now, whatever
// the clock (a test's, a replay's) says.

// Since when each rule that came later is in force.
var (
	// Comments hold no invisible or direction-changing character (see
	// invisibleRune).
	invisibleCommentsRefusedSince = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
)

// Admit reports whether a unit in state s may record env, or returns the
// rule's refusal: EInvalid for bad values or a mismatched id, ENotFound for
// an unregistered unit, EUnitRetired for a retired one, EUnitClosed for a
// declaration on a closed unit (saisie bloquée), EConflict for an event
// that contradicts the state, ECommentInvisible for a recent comment with
// invisible characters. A declaration on a closed unit is refused as such
// whatever its figures.
func Admit(s *UnitState, env *Envelope) error { return admit(s, env, false) }

// admit is Admit; every applies the later rules whatever env's date.
func admit(s *UnitState, env *Envelope, every bool) error {
	id, _ := UnitIDFromStream(env.Stream)
	if e, ok := env.Event.(UnitRegistered); ok {
		switch {
		case s.registered:
			return FieldErrorf(EConflict, "unit_id", "l'UO %s est déjà enregistrée", s.unit.ID)
		case e.ID != id:
			return FieldErrorf(EInvalid, "unit_id", "l'UO %s ne peut être enregistrée dans le flux de l'UO %s", e.ID, id)
		}
		return e.Validate()
	}
	if err := exists(s, id); err != nil {
		return err
	}
	// Figures on a closed unit are refused as such, whatever they are
	// (saisie bloquée); the other state rules judge valid values only.
	switch env.Event.(type) {
	case AvailabilityDeclared, AvailabilityCorrected:
		if err := blocked(s); err != nil {
			return err
		}
	}
	if err := env.Event.Validate(); err != nil {
		return err
	}
	if err := admitState(s, env.Event); err != nil {
		return err
	}
	return admitLater(env, every)
}

// exists is the rule before every other: the unit is registered, and not
// retired.
func exists(s *UnitState, id string) error {
	switch {
	case !s.registered:
		return Errorf(ENotFound, "UO %s introuvable", id)
	case s.retired:
		return FieldErrorf(EUnitRetired, "unit_id", "l'UO %s a été retirée du répertoire : plus aucune modification n'est possible, son historique reste consultable", s.unit.ID)
	}
	return nil
}

func admitState(s *UnitState, ev Event) error {
	switch e := ev.(type) {
	case UnitDetailsChanged:
		if e.ID != s.unit.ID {
			return FieldErrorf(EInvalid, "unit_id", "l'identifiant d'une UO ne change pas")
		}
	case AvailabilityCorrected:
		switch {
		case s.declID.IsZero():
			return FieldErrorf(EConflict, "corrects", "l'UO %s n'a aucune déclaration à corriger", s.unit.ID)
		case s.awaiting:
			return FieldErrorf(EConflict, "corrects", "l'UO %s a rouvert depuis sa dernière déclaration : faites une nouvelle déclaration", s.unit.ID)
		case e.Corrects != s.declID.String():
			return FieldErrorf(EConflict, "corrects", "seule la dernière déclaration de l'UO %s (%s) peut être corrigée : une déclaration plus récente a remplacé celle-ci", s.unit.ID, s.declID)
		}
	case UnitClosed:
		if s.closure != nil {
			return FieldErrorf(EConflict, "closure", "l'UO %s est déjà en indisponibilité totale", s.unit.ID)
		}
	case UnitReopened:
		switch {
		case s.closure == nil:
			return FieldErrorf(EConflict, "closure", "l'UO %s n'est pas en indisponibilité totale", s.unit.ID)
		case !s.closure.Reopenable:
			return FieldErrorf(EConflict, "closure", "l'UO %s a été fermée comme non réactivable : seul un administrateur peut annuler cette fermeture si elle est une erreur, ou retirer l'UO", s.unit.ID)
		}
	case ClosureCancelled:
		if s.closure == nil {
			return FieldErrorf(EConflict, "closure", "l'UO %s n'est pas en indisponibilité totale : aucune fermeture à annuler", s.unit.ID)
		}
	case UnitPooled:
		if s.pool == e.Pool {
			return FieldErrorf(EConflict, "pool", "l'UO %s est déjà dans le pool %s", s.unit.ID, e.Pool)
		}
	case UnitUnpooled:
		if s.pool == "" {
			return FieldErrorf(EConflict, "pool", "l'UO %s n'est dans aucun pool", s.unit.ID)
		}
	}
	return nil
}

// blocked refuses figures on a closed unit: saisie bloquée.
func blocked(s *UnitState) error {
	if s.closure == nil {
		return nil
	}
	return FieldErrorf(EUnitClosed, "closure", "l'UO %s est en indisponibilité totale depuis %s (%s) : saisie bloquée jusqu'à sa réouverture",
		s.unit.ID, FormatParis(s.closure.Start), s.closure.Reason)
}

// admitLater applies the rules that came after events were first recorded,
// each to the events recorded since it took effect (every: to all).
func admitLater(env *Envelope, every bool) error {
	since := func(t time.Time) bool { return every || !env.RecordedAt.Before(t) }
	if c, ok := env.Event.(CommentSet); ok && since(invisibleCommentsRefusedSince) {
		if r, bad := invisibleRune(c.Text); bad {
			return FieldErrorf(ECommentInvisible, "comment", "le commentaire contient un caractère invisible ou "+
				"d'inversion du sens d'écriture (U+%04X) : il pourrait montrer au soignant un texte caché ou inversé. "+
				"Retirez-le (souvent collé depuis un autre logiciel)", r)
		}
	}
	return nil
}
