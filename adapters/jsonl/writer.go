package jsonl

import (
	"bufio"
	"fmt"
	"io"

	"dispo/domain"
)

// Writer writes envelopes as JSONL, one line each. It buffers its output:
// call Flush when done.
type Writer struct {
	w *bufio.Writer
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64*1024)}
}

// Write writes env as one line. It returns Marshal's error for an envelope
// that cannot be written, and writes nothing then.
func (w *Writer) Write(env *domain.Envelope) error {
	line, err := Marshal(env)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if _, err := w.w.Write(line); err != nil {
		return fmt.Errorf("jsonl: writing: %w", err)
	}
	return nil
}

// Flush writes any buffered data to the underlying io.Writer.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("jsonl: writing: %w", err)
	}
	return nil
}
