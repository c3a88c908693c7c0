// Package domain is dispo's shared vocabulary: units (UO) and their catalog,
// the events a unit's stream is made of, the envelope every log stores them in,
// the unit aggregate that turns commands into events, and one error vocabulary.
//
// It imports only the standard library so that every adapter, projection and
// command can depend on it without dragging storage or transport along.
//
// Events are facts: Apply never refuses one. Decide is where commands are
// validated against the state folded from a unit's stream; a refused command
// yields a *Error and no event.
package domain
