package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"dispo/domain"
)

// maxBody bounds a command's body: a declaration is a few dozen bytes.
const maxBody = 64 << 10

// apiError is a refusal with an API code beyond the domain's.
type apiError struct {
	code, msg string
	field     string // the parameter or key concerned, if one is
}

func (e *apiError) Error() string { return e.msg }

// decode reads r's JSON body into v strictly: application/json only, at
// most maxBody bytes, no unknown field, one value, types as declared.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{code: codeUnsupportedMediaType, msg: "the body must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &apiError{code: codeTooLarge, msg: fmt.Sprintf("the body exceeds %d bytes", maxBody)}
	}
	if err != nil {
		return domain.Errorf(domain.EInvalid, "reading the body: %v", err)
	}
	if !utf8.Valid(body) {
		return domain.Errorf(domain.EInvalid, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &typ):
			return domain.Errorf(domain.EInvalid, "field %q: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		case errors.As(err, &syn):
			return domain.Errorf(domain.EInvalid, "malformed JSON at byte %d: %v", syn.Offset, err)
		case errors.Is(err, io.EOF):
			return domain.Errorf(domain.EInvalid, "the body is empty")
		}
		return domain.Errorf(domain.EInvalid, "malformed JSON: %v", err)
	}
	if dec.More() {
		return domain.Errorf(domain.EInvalid, "the body holds more than one JSON value")
	}
	if !bytes.Equal(bytes.TrimSpace(body[dec.InputOffset():]), nil) {
		return domain.Errorf(domain.EInvalid, "trailing data after the JSON value")
	}
	return nil
}

// writeJSON answers with v.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
