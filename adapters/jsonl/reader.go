package jsonl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"dispo/domain"
)

// LineError is an error about one line of a file.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Reader reads envelopes from a JSONL stream, one per line.
type Reader struct {
	sc   *bufio.Scanner
	line int
	err  error // sticky: the scanner cannot go on after it
}

// NewReader returns a Reader reading from r. It buffers its input.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	// Room for the longest accepted line and its "\r\n", plus one byte so that
	// a longer line is seen as such rather than split.
	sc.Buffer(make([]byte, 0, 64*1024), MaxLineSize+3)
	return &Reader{sc: sc}
}

// Line returns the number of the line the last envelope or error of Next
// came from (1-based), 0 before the first call.
func (r *Reader) Line() int { return r.line }

// Next returns the envelope of the next non-empty line, or io.EOF after the
// last one. A line that does not decode yields a *LineError wrapping
// Unmarshal's *domain.Error; Next may then be called again to go on with the
// following line, so that an importer can report every bad line at once. A
// line longer than MaxLineSize or a failing io.Reader also yields a
// *LineError, and ends the reading: every later call returns it again.
func (r *Reader) Next() (domain.Envelope, error) {
	if r.err != nil {
		return domain.Envelope{}, r.err
	}
	for r.sc.Scan() {
		r.line++
		line := r.sc.Bytes()
		if r.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // byte order mark
		}
		if len(line) > MaxLineSize {
			return domain.Envelope{}, r.fail(tooLong())
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		env, err := Unmarshal(line)
		if err != nil {
			return domain.Envelope{}, &LineError{Line: r.line, Err: err}
		}
		return env, nil
	}
	err := r.sc.Err()
	switch {
	case err == nil:
		r.err = io.EOF
		return domain.Envelope{}, io.EOF
	case errors.Is(err, bufio.ErrTooLong):
		r.line++
		return domain.Envelope{}, r.fail(tooLong())
	}
	r.line++
	return domain.Envelope{}, r.fail(fmt.Errorf("jsonl: reading: %w", err))
}

func (r *Reader) fail(err error) error {
	r.err = &LineError{Line: r.line, Err: err}
	return r.err
}

func tooLong() error {
	return domain.Errorf(domain.EInvalid, "jsonl: line longer than %d bytes", MaxLineSize)
}

// ReadFile reads every envelope of the file at path, in order: a fixture,
// an export. The first line that does not decode stops it (a *LineError).
func ReadFile(path string) ([]domain.Envelope, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var evs []domain.Envelope
	for r := NewReader(f); ; {
		env, err := r.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return nil, err
		}
		evs = append(evs, env)
	}
}
