package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
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
// most maxBody bytes, each key once and exactly a field's name, one value,
// types as declared.
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
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
		return err
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

// checkKeys refuses what encoding/json lets through: a key given twice (it
// keeps the last, so the client and the log may disagree on what was sent)
// and a key that is a field's name only up to case or Unicode folding
// ({"AVAILABLE":3} and "clo\u017fed" set fields). Keys must be exactly the
// names of t's fields; objects held by a map or an interface may have any
// key, once. Malformed JSON is left to the decoder, whose message says
// where it breaks.
func checkKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var api *apiError
	if err := walkKeys(dec, t, ""); errors.As(err, &api) {
		return err
	}
	return nil
}

// walkKeys reads one value from dec, checking the keys of its objects
// against t (nil: anything). Field names in errors are dotted paths.
func walkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, elem, path); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		switch {
		case t != nil && t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]():
			fields = jsonFields(t)
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			name := echoed(key)
			if path != "" {
				name = path + "." + name
			}
			if seen[key] {
				return &apiError{code: codeDuplicateKey, field: name, msg: "key " + strconv.Quote(name) + " is given more than once"}
			}
			seen[key] = true
			ft := elem
			if fields != nil {
				var ok bool
				if ft, ok = fields[key]; !ok {
					return &apiError{code: codeUnknownField, field: name, msg: "unknown field " + strconv.Quote(name) +
						" (names are matched exactly: " + strings.Join(sortedKeys(fields), ", ") + ")"}
				}
			}
			if err := walkKeys(dec, ft, name); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	return nil
}

// jsonFields returns the JSON names of t's fields as encoding/json sees
// them (tags, embedded structs flattened) with their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			continue // an embedded struct's fields are listed themselves
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
