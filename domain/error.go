package domain

import (
	"errors"
	"fmt"
)

// Error codes: one vocabulary that every adapter maps to its own transport
// (the HTTP API maps them to statuses in one table). Stable: clients match on them.
const (
	EConflict   = "conflict"
	EInvalid    = "invalid"
	ENotFound   = "not_found"
	EForbidden  = "forbidden"
	EUnitClosed = "unit_closed"
	EInternal   = "internal"
	// ECommentInvisible refuses a new comment holding a bidirectional
	// override or a zero-width character (see rules.go).
	ECommentInvisible = "comment_invisible_characters"
	// EUnitRetired refuses any change to a unit an admin retired: it left
	// the directory, its history stays readable.
	EUnitRetired = "unit_retired"
)

// Error is a failure a user can act on. Anything else that reaches a boundary
// is an internal error. Messages are in French: they reach the people the
// service is for as they are.
type Error struct {
	Code string
	// Field names what was refused, in the vocabulary of the API's JSON
	// (available, installed, closed_places, comment, closure, reason…), ""
	// when the refusal is about no one field.
	Field   string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error with the given code about one field.
func FieldErrorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorField returns the field err is about, "" when none or not an *Error.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ConflictError reports an append whose expected revision did not hold, with
// the stream's actual revision so the caller can reload and retry.
type ConflictError struct {
	Stream   string
	Expected ExpectedRevision
	Actual   int64 // NoStreamRevision when the stream does not exist
	Reason   string
}

func (e *ConflictError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("conflict: stream %q: %s (current revision %d)", e.Stream, e.Reason, e.Actual)
	}
	return fmt.Sprintf("conflict: stream %q: expected revision %s, current revision %d", e.Stream, e.Expected, e.Actual)
}

func (e *ConflictError) frenchMessage() string {
	if e.Reason != "" {
		return fmt.Sprintf("conflit sur %q : %s (révision actuelle %d)", e.Stream, e.Reason, e.Actual)
	}
	return fmt.Sprintf("conflit sur %q : révision attendue %s, révision actuelle %d", e.Stream, e.Expected, e.Actual)
}

// ErrorCode returns the code of err: its *Error's code, EConflict for a
// *ConflictError, "" for nil and EInternal for anything foreign.
func ErrorCode(err error) string {
	var e *Error
	var c *ConflictError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.As(err, &c):
		return EConflict
	}
	return EInternal
}

// ErrorMessage returns the message meant for users; internal errors are not
// described to them.
func ErrorMessage(err error) string {
	var e *Error
	var c *ConflictError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	case errors.As(err, &c):
		return c.frenchMessage()
	}
	return "erreur interne"
}
