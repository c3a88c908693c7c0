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
		return &apiError{code: codeUnsupportedMediaType, field: "Content-Type", msg: "le corps doit être en application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &apiError{code: codeTooLarge, msg: fmt.Sprintf("le corps dépasse %d octets", maxBody)}
	}
	if err != nil {
		return domain.Errorf(domain.EInvalid, "lecture du corps interrompue : %v", err)
	}
	if !utf8.Valid(body) {
		return domain.Errorf(domain.EInvalid, "le corps n'est pas de l'UTF-8 valide")
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
			return domain.FieldErrorf(domain.EInvalid, typ.Field, "le champ %q attend %s, pas %s", typ.Field, jsonKind(typ.Type), jsonValueName(typ.Value))
		case errors.As(err, &syn):
			return domain.Errorf(domain.EInvalid, "JSON mal formé à l'octet %d", syn.Offset)
		case errors.Is(err, io.EOF):
			return domain.Errorf(domain.EInvalid, "le corps est vide")
		}
		var parse *time.ParseError
		if errors.As(err, &parse) {
			return domain.Errorf(domain.EInvalid, "date mal formée %q : un instant RFC 3339 est attendu, par exemple 2025-03-11T10:00:00+01:00", echoed(parse.Value))
		}
		return domain.Errorf(domain.EInvalid, "JSON mal formé")
	}
	if dec.More() {
		return domain.Errorf(domain.EInvalid, "le corps contient plus d'une valeur JSON")
	}
	if !bytes.Equal(bytes.TrimSpace(body[dec.InputOffset():]), nil) {
		return domain.Errorf(domain.EInvalid, "données en trop après la valeur JSON")
	}
	return nil
}

// jsonKind says in French what JSON a field takes: a client never sees a
// Go type name.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "un instant RFC 3339 (texte)"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "un nombre entier"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "un nombre"
	case t.Kind() == reflect.String:
		return "du texte"
	case t.Kind() == reflect.Bool:
		return "true ou false"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "une liste"
	}
	return "un objet"
}

// jsonValueName names in French the JSON value encoding/json reports.
func jsonValueName(v string) string {
	switch v {
	case "string":
		return "du texte"
	case "number":
		return "un nombre"
	case "bool":
		return "un booléen"
	case "array":
		return "une liste"
	case "object":
		return "un objet"
	}
	if strings.HasPrefix(v, "number ") {
		return "le nombre " + strings.TrimPrefix(v, "number ")
	}
	return v
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
				return &apiError{code: codeDuplicateKey, field: name, msg: "la clé " + strconv.Quote(name) + " est donnée plusieurs fois"}
			}
			seen[key] = true
			ft := elem
			if fields != nil {
				var ok bool
				if ft, ok = fields[key]; !ok {
					return &apiError{code: codeUnknownField, field: name, msg: "champ inconnu " + strconv.Quote(name) +
						" (les noms doivent être exacts : " + strings.Join(sortedKeys(fields), ", ") + ")"}
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
