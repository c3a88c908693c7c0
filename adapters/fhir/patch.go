package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The national PATCH of capacities (ROR documentation, "patch-capacitaire"):
// a FHIRPath Patch Parameters resource whose operations replace or add
// capacity indicators of one Location. The documentation gives templates;
// this is what they make:
//
//	{"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
//	  {"name": "type", "valueString": "replace"},
//	  {"name": "path", "valueString": "Location.extension.where(url='…ror-location-supported-capacity')
//	     .where(extension.where(url = 'capacityStatus' and valueCodeableConcept.coding.code = '02') and …)"},
//	  {"name": "value", "part": [{"extension": [{"url": "…ror-location-supported-capacity", "extension": [ … ]}]}]}]}]}
//
// The standard FHIRPath Patch value (valueExtension) and type (valueCode)
// are read too.

// capacityPath is the expression of the capacity extensions, as the
// national answers name it.
const capacityPath = "Location.extension.where(url='" + ExtCapacity + "')"

// patchOp is one operation, read.
type patchOp struct {
	kind     string            // replace or add
	criteria map[string]string // sub-extension url -> code, for replace
	value    indicatorIn
}

// indicatorIn is a capacity extension as a feeder sends it.
type indicatorIn struct {
	codes map[string]coded // coded sub-extensions by url
	n     *int
}

type coded struct{ system, code string }

// outcomeError is a refusal, answered as an OperationOutcome.
type outcomeError struct {
	status     int
	code       string // the code (FHIR issue-type)
	detail     string
	expression []string
}

func (e *outcomeError) Error() string { return e.detail }

func refuse(status int, code string, expression []string, format string, args ...any) *outcomeError {
	return &outcomeError{status: status, code: code, detail: fmt.Sprintf(format, args...), expression: expression}
}

// Parameters as decoded: only what a patch uses; FHIR's other elements are
// ignored, as a receiver may.
type parameters struct {
	ResourceType string      `json:"resourceType"`
	Parameter    []parameter `json:"parameter"`
}

type parameter struct {
	Name           string         `json:"name"`
	ValueString    *string        `json:"valueString"`
	ValueCode      *string        `json:"valueCode"`
	ValueExtension *extensionIn   `json:"valueExtension"`
	Part           []parameter    `json:"part"`
	Extension      []*extensionIn `json:"extension"`
}

type extensionIn struct {
	URL                  string           `json:"url"`
	Extension            []*extensionIn   `json:"extension"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept"`
	ValueCoding          *Coding          `json:"valueCoding"`
	ValueCode            *string          `json:"valueCode"`
	ValueInteger         *json.Number     `json:"valueInteger"`
	ValueDateTime        *string          `json:"valueDateTime"`
}

// The coded sub-extensions of a capacity, with the code system each is
// bound to (the IG's required bindings).
var codedParts = map[string]string{
	"capacityType":            sysCapacityType,
	"capacityStatus":          sysCapacityStatus,
	"temporalityCapacity":     sysTemporality,
	"capacitySourceType":      sysSourceType,
	"genderCapacityAvailable": sysGender,
	"capacityClosingType":     sysClosingType,
	"additionalBedType":       tre("R334", "TypeLitSupplementaire"),
	"crisisType":              tre("R336", "TypeCrise"),
	"temporaryAssignement":    sysAssignment,
}

// parsePatch reads a PATCH body.
func parsePatch(body []byte) ([]patchOp, error) {
	var p parameters
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, refuse(400, "structure", nil, "corps illisible : un Parameters FHIR en JSON est attendu (%v)", err)
	}
	if dec.More() {
		return nil, refuse(400, "structure", nil, "corps illisible : des données suivent le Parameters")
	}
	if p.ResourceType != "Parameters" {
		return nil, refuse(400, "structure", []string{"Parameters"}, "un Parameters FHIRPath Patch est attendu, pas %q", p.ResourceType)
	}
	if len(p.Parameter) == 0 {
		return nil, refuse(400, "required", []string{"Parameters.parameter"}, "le PATCH ne contient aucune opération")
	}
	ops := make([]patchOp, 0, len(p.Parameter))
	for i, prm := range p.Parameter {
		where := fmt.Sprintf("Parameters.parameter[%d]", i)
		if prm.Name != "operation" {
			return nil, refuse(400, "structure", []string{where + ".name"}, "paramètre %q inattendu : seules des opérations (operation) sont admises", prm.Name)
		}
		op, err := parseOperation(where, prm.Part)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseOperation(where string, parts []parameter) (patchOp, error) {
	var kind, path string
	var value *extensionIn
	for _, pt := range parts {
		switch pt.Name {
		case "type":
			kind = str(pt.ValueCode, pt.ValueString)
		case "path":
			path = str(pt.ValueString, nil)
		case "value":
			switch {
			case pt.ValueExtension != nil:
				value = pt.ValueExtension
			case len(pt.Part) == 1 && len(pt.Part[0].Extension) == 1:
				value = pt.Part[0].Extension[0]
			default:
				return patchOp{}, refuse(400, "structure", []string{where + ".part.value"}, "la valeur doit être une extension ror-location-supported-capacity (part[0].extension[0] ou valueExtension)")
			}
		}
	}
	switch kind {
	case "replace", "add":
	case "delete":
		return patchOp{}, refuse(400, "not-supported", []string{where + ".part.type"},
			"opération delete non prise en charge : une UO garde ses trois indicateurs (disponibles, installées, fermées) ; envoyez replace avec 0")
	case "":
		return patchOp{}, refuse(400, "required", []string{where + ".part.type"}, "le type de l'opération (replace ou add) manque")
	default:
		return patchOp{}, refuse(400, "not-supported", []string{where + ".part.type"}, "opération %q non prise en charge : replace ou add", kind)
	}
	if value == nil {
		return patchOp{}, refuse(400, "required", []string{where + ".part.value"}, "l'opération %s n'a pas de valeur", kind)
	}
	op := patchOp{kind: kind}
	var err error
	if op.value, err = readIndicator(value); err != nil {
		return patchOp{}, err
	}
	crit, err := parsePath(path)
	if err != nil {
		return patchOp{}, refuse(400, "invalid", []string{where + ".part.path"}, "chemin FHIRPath %q non compris : %v", path, err)
	}
	if kind == "replace" {
		if crit == nil {
			return patchOp{}, refuse(400, "invalid", []string{where + ".part.path"},
				"replace doit désigner un indicateur : %s.where(extension.where(url = 'capacityStatus' and valueCodeableConcept.coding.code = '02') and …)", capacityPath)
		}
		op.criteria = crit
	}
	return op, nil
}

func str(a, b *string) string {
	if a != nil {
		return *a
	}
	if b != nil {
		return *b
	}
	return ""
}

func readIndicator(e *extensionIn) (indicatorIn, error) {
	expr := []string{"Location.extension('" + ExtCapacity + "')"}
	if e.URL != ExtCapacity {
		return indicatorIn{}, refuse(400, "business-rule", expr, "l'extension envoyée n'est pas %s mais %q", ExtCapacity, e.URL)
	}
	in := indicatorIn{codes: map[string]coded{}}
	for _, sub := range e.Extension {
		if sub == nil {
			continue
		}
		if sub.URL == "nbCapacity" {
			if sub.ValueInteger == nil {
				return indicatorIn{}, refuse(400, "business-rule", []string{expr[0] + ".extension('nbCapacity')"}, "nbCapacity doit porter valueInteger")
			}
			n, err := sub.ValueInteger.Int64()
			if err != nil || n < 0 || n > 100000 {
				return indicatorIn{}, refuse(400, "business-rule", []string{expr[0] + ".extension('nbCapacity')"}, "nbCapacity doit être un entier de 0 à 100000, pas %s", sub.ValueInteger)
			}
			v := int(n)
			in.n = &v
			continue
		}
		system, ok := codedParts[sub.URL]
		if !ok {
			continue // capacityUpdateDate, and what dispo does not keep
		}
		var c coded
		switch {
		case sub.ValueCodeableConcept != nil && len(sub.ValueCodeableConcept.Coding) > 0:
			c = coded{sub.ValueCodeableConcept.Coding[0].System, sub.ValueCodeableConcept.Coding[0].Code}
		case sub.ValueCoding != nil:
			c = coded{sub.ValueCoding.System, sub.ValueCoding.Code}
		case sub.ValueCode != nil:
			c = coded{"", *sub.ValueCode}
		default:
			return indicatorIn{}, refuse(400, "business-rule", []string{expr[0] + ".extension('" + sub.URL + "')"}, "%s doit porter un code (valueCodeableConcept)", sub.URL)
		}
		if c.system != "" && c.system != system {
			return indicatorIn{}, refuse(400, "business-rule", []string{expr[0] + ".extension('" + sub.URL + "')"}, "%s : système de codes %q, %s attendu", sub.URL, c.system, system)
		}
		in.codes[sub.URL] = c
	}
	if in.n == nil {
		return indicatorIn{}, refuse(400, "business-rule", []string{expr[0] + ".extension('nbCapacity')"}, "l'indicateur n'a pas de nbCapacity")
	}
	return in, nil
}

// parsePath reads the FHIRPath of an operation: the capacity extensions,
// and for a replace the criteria that pick one of them. It returns the
// criteria (nil when there are none). What it reads:
//
//	Location[.extension.where(url = '<capacity>')[.where(<crit> and <crit> …)]]
//	<crit>: extension.where(url = '<part>' and <value> = '<code>')
//	<value>: valueCodeableConcept.coding.code | value.coding.code | valueCoding.code | valueCode
func parsePath(s string) (map[string]string, error) {
	p := &pathParser{toks: lex(s)}
	if p.err != nil {
		return nil, p.err
	}
	p.expect("Location")
	if p.done() {
		return nil, p.err
	}
	p.expect(".", "extension", ".", "where", "(", "url", "=")
	if u := p.str(); p.err == nil && u != ExtCapacity {
		return nil, fmt.Errorf("l'extension visée est %q, pas %s", u, ExtCapacity)
	}
	p.expect(")")
	if p.done() {
		return nil, p.err
	}
	p.expect(".", "where", "(")
	crit := map[string]string{}
	for {
		p.expect("extension", ".", "where", "(", "url", "=")
		part := p.str()
		p.expect("and")
		p.value()
		p.expect("=")
		code := p.str()
		p.expect(")")
		if p.err != nil {
			return nil, p.err
		}
		if _, dup := crit[part]; dup {
			return nil, fmt.Errorf("%s est donné deux fois", part)
		}
		crit[part] = code
		if !p.accept("and") {
			break
		}
	}
	p.expect(")")
	if p.err == nil && !p.done() {
		p.err = fmt.Errorf("texte inattendu après le critère : %q", p.toks[p.i])
	}
	return crit, p.err
}

type pathParser struct {
	toks []string
	i    int
	err  error
}

func (p *pathParser) done() bool { return p.err == nil && p.i == len(p.toks) }

func (p *pathParser) accept(t string) bool {
	if p.err == nil && p.i < len(p.toks) && p.toks[p.i] == t {
		p.i++
		return true
	}
	return false
}

func (p *pathParser) expect(ts ...string) {
	for _, t := range ts {
		if p.err != nil {
			return
		}
		if !p.accept(t) {
			got := "la fin"
			if p.i < len(p.toks) {
				got = fmt.Sprintf("%q", p.toks[p.i])
			}
			p.err = fmt.Errorf("%q attendu, %s trouvé", t, got)
		}
	}
}

func (p *pathParser) str() string {
	if p.err != nil {
		return ""
	}
	if p.i < len(p.toks) && strings.HasPrefix(p.toks[p.i], "'") {
		p.i++
		return p.toks[p.i-1][1:]
	}
	p.err = fmt.Errorf("une chaîne entre apostrophes est attendue")
	return ""
}

// value reads the element a criterion compares.
func (p *pathParser) value() {
	switch {
	case p.accept("valueCodeableConcept"), p.accept("value"):
		p.expect(".", "coding", ".", "code")
	case p.accept("valueCoding"):
		p.expect(".", "code")
	case p.accept("valueCode"):
	default:
		p.expect("valueCodeableConcept")
	}
}

// lex cuts a FHIRPath into names, punctuation and strings (kept with
// their opening quote, unescaped).
func lex(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte(".()=", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			j := i + 1
			for ; j < len(s) && s[j] != '\''; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j == len(s) {
				return append(toks, "\x00unterminated")
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] == '_') {
				j++
			}
			if j == i {
				return append(toks, "\x00"+string(c))
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}
