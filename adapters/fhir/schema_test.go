package fhir_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// HL7's JSON Schema of FHIR R4 (see testdata/README.md), compiled once per
// resource type: a resource is checked against its own definition (the
// root's oneOf would try all 146).
var fhirSchema struct {
	once     sync.Once
	err      error
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	byType   map[string]*jsonschema.Schema
}

const schemaURL = "http://hl7.org/fhir/json-schema/4.0"

func schemaFor(t testing.TB, resourceType string) *jsonschema.Schema {
	t.Helper()
	s := &fhirSchema
	s.once.Do(func() {
		f, err := os.Open("testdata/fhir.schema.json.gz")
		if err != nil {
			s.err = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			s.err = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(zr)
		if err != nil {
			s.err = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft6)
		if s.err = c.AddResource(schemaURL, doc); s.err != nil {
			return
		}
		s.compiler, s.byType = c, map[string]*jsonschema.Schema{}
	})
	if s.err != nil {
		t.Fatalf("the FHIR R4 schema: %v", s.err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.byType[resourceType]; ok {
		return sch
	}
	sch, err := s.compiler.Compile(schemaURL + "#/definitions/" + resourceType)
	if err != nil {
		t.Fatalf("compile the schema of %s: %v", resourceType, err)
	}
	s.byType[resourceType] = sch
	return sch
}

// schemaErrors checks one resource against the R4 schema of its type.
func schemaErrors(t testing.TB, body []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	m, ok := inst.(map[string]any)
	if !ok {
		return errString("not a JSON object")
	}
	rt, _ := m["resourceType"].(string)
	if rt == "" || strings.ContainsAny(rt, "/#") {
		return errString("no resourceType")
	}
	return schemaFor(t, rt).Validate(inst)
}

type errString string

func (e errString) Error() string { return string(e) }

// mustConform checks body, a resource dispo wrote, against the R4 schema
// and, for the two ROR resources, the IG's profiles; a Bundle's entries
// are checked one by one too.
func mustConform(t testing.TB, body []byte) {
	t.Helper()
	if err := schemaErrors(t, body); err != nil {
		t.Fatalf("not FHIR R4 (schema): %v\n%s", err, body)
	}
	var r struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	switch r.ResourceType {
	case "Bundle":
		for _, e := range r.Entry {
			mustConform(t, e.Resource)
		}
	case "Location", "HealthcareService":
		// A resource cut by _elements says so, and is not held to its
		// profile (FHIR: SUBSETTED).
		if bytes.Contains(body, []byte(`"code":"SUBSETTED"`)) {
			return
		}
		if errs := profileErrors(body); len(errs) > 0 {
			t.Fatalf("%s does not conform to its ROR profile:\n  %s\n%s", r.ResourceType, strings.Join(errs, "\n  "), body)
		}
	}
}
