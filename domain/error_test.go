package domain_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"dispo/domain"
)

func TestErrorCodeAndMessage(t *testing.T) {
	conflict := &domain.ConflictError{Stream: "unit-1", Expected: domain.Exact(3), Actual: 5}
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"nil", nil, "", ""},
		{"error", domain.Errorf(domain.ENotFound, "unit %s not found", "u1"), domain.ENotFound, "unit u1 not found"},
		{"unit closed", domain.Errorf(domain.EUnitClosed, "closed"), "unit_closed", "closed"},
		{"wrapped error", fmt.Errorf("load: %w", domain.Errorf(domain.EInvalid, "bad")), domain.EInvalid, "bad"},
		{"doubly wrapped error", fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain.Errorf(domain.EForbidden, "no"))), domain.EForbidden, "no"},
		{"joined error", errors.Join(io.EOF, domain.Errorf(domain.EConflict, "again")), domain.EConflict, "again"},
		{"conflict", conflict, domain.EConflict, `conflit sur "unit-1" : révision attendue 3, révision actuelle 5`},
		{"wrapped conflict", fmt.Errorf("append: %w", conflict), domain.EConflict, `conflit sur "unit-1" : révision attendue 3, révision actuelle 5`},
		{"conflict with reason", &domain.ConflictError{Stream: "s", Expected: domain.NoStream, Actual: 0, Reason: "stream exists"},
			domain.EConflict, `conflit sur "s" : stream exists (révision actuelle 0)`},
		{"foreign", errors.New("disk on fire: /var/lib/dispo"), domain.EInternal, "erreur interne"},
		{"wrapped foreign", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), domain.EInternal, "erreur interne"},
		{"foreign wrapping text of a domain error", fmt.Errorf("%v", domain.Errorf(domain.EInvalid, "bad")), domain.EInternal, "erreur interne"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := domain.ErrorMessage(tt.err); got != tt.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestErrorStrings(t *testing.T) {
	if got, want := domain.Errorf(domain.EInvalid, "x %d", 1).Error(), "invalid: x 1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e := &domain.ConflictError{Stream: "unit-a", Expected: domain.NoStream, Actual: domain.NoStreamRevision}
	if got, want := e.Error(), `conflict: stream "unit-a": expected revision no-stream, current revision -1`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// The codes are part of the API: clients match on them.
	codes := map[string]string{
		domain.EConflict: "conflict", domain.EInvalid: "invalid", domain.ENotFound: "not_found",
		domain.EForbidden: "forbidden", domain.EUnitClosed: "unit_closed", domain.EInternal: "internal",
	}
	for got, want := range codes {
		if got != want {
			t.Errorf("code constant %q, want %q", got, want)
		}
	}
	if len(codes) != 6 {
		t.Errorf("error codes are not distinct: %v", codes)
	}
}

func TestExpectedRevision(t *testing.T) {
	tests := []struct {
		r    domain.ExpectedRevision
		want string
	}{
		{domain.AnyRevision, "any"},
		{domain.NoStream, "no-stream"},
		{domain.Exact(domain.NoStreamRevision), "no-stream"},
		{domain.Exact(0), "0"},
		{domain.Exact(41), "41"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("ExpectedRevision(%d).String() = %q, want %q", int64(tt.r), got, tt.want)
		}
	}
	if domain.Exact(domain.NoStreamRevision) != domain.NoStream {
		t.Error("Exact(NoStreamRevision) != NoStream")
	}
}
