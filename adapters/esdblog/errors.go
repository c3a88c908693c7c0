package esdblog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrClosed is returned by every method once Close was called.
var ErrClosed = errors.New("esdblog: log closed")

// UnavailableError reports that EventStoreDB could not be reached, or did not
// answer, within the call's deadline and retries. Its Unavailable method
// tells the HTTP API to answer 503 with Retry-After. The events of an append
// that fails so may or may not be stored: retrying it with the same event ids
// is safe (they are recognised, and stored once).
type UnavailableError struct {
	Op  string // what was tried: "append to unit-77-EG-01", "read unit-77-EG-01"...
	Err error  // the last failure
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("esdblog: %s: event store unavailable: %v", e.Op, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable reports true: the failure is transient.
func (e *UnavailableError) Unavailable() bool { return true }

// errStalled: a call is stuck in the client's connection goroutine, which is
// rediscovering the server; new calls are not queued behind it.
var errStalled = errors.New("esdblog: reconnecting to the event store")

// errNotFound marks a read of a stream that does not exist (or was deleted).
var errNotFound = errors.New("esdblog: stream not found")

// transient reports whether err may go away on retry.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errStalled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ee *esdb.Error
	if errors.As(err, &ee) {
		switch ee.Code() {
		case esdb.ErrorUnavailable, esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeNotLeader, esdb.ErrorAborted:
			return true
		case esdb.ErrorCodeWrongExpectedVersion, esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted,
			esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeConnectionClosed,
			esdb.ErrorCodeUnsupportedFeature, esdb.ErrorCodeParsing:
			return false
		}
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Internal:
		// Internal: the transport was reset mid-stream (RST_STREAM).
		return true
	}
	return false
}

// permanent reports whether err is a refusal that retrying would repeat:
// the server does not let us in, or does not know the request.
func permanent(err error) bool {
	var ee *esdb.Error
	if errors.As(err, &ee) {
		switch ee.Code() {
		case esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeUnsupportedFeature:
			return true
		}
	}
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented, codes.InvalidArgument:
		return true
	}
	return false
}

// isNotFound reports whether err says a stream does not exist.
func isNotFound(err error) bool {
	var ee *esdb.Error
	return errors.As(err, &ee) && (ee.Code() == esdb.ErrorCodeResourceNotFound || ee.Code() == esdb.ErrorCodeStreamDeleted)
}

// wrongExpected returns the current revision a WrongExpectedVersion error
// reports, and whether err is one. The client keeps that revision only in
// the error's text ("expecting '1' but got 'no_stream'"): known reports false
// for the revision if the text is not in that form.
func wrongExpected(err error) (current int64, known, ok bool) {
	var ee *esdb.Error
	if !errors.As(err, &ee) || ee.Code() != esdb.ErrorCodeWrongExpectedVersion {
		return 0, false, false
	}
	msg := err.Error()
	i := strings.LastIndex(msg, "but got '")
	if i < 0 {
		return 0, false, true
	}
	rest := msg[i+len("but got '"):]
	j := strings.IndexByte(rest, '\'')
	if j < 0 {
		return 0, false, true
	}
	if rest[:j] == "no_stream" {
		return domain.NoStreamRevision, true, true
	}
	n, perr := strconv.ParseInt(rest[:j], 10, 64)
	if perr != nil || n < 0 {
		return 0, false, true
	}
	return n, true, true
}
