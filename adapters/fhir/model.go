package fhir

import (
	"encoding/json"
	"time"
)

// The FHIR R4 data types and resources dispo writes, as far as it fills
// them, in the specification's element order so that answers read as its
// examples do. Every field is omitted when empty: FHIR forbids empty
// objects, arrays and strings.

type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
}

type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

func concept(system, code, display string) *CodeableConcept {
	return &CodeableConcept{Coding: []Coding{{System: system, Code: code, Display: display}}}
}

type Identifier struct {
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type Quantity struct {
	Value int `json:"value"`
}

type Range struct {
	Low  *Quantity `json:"low,omitempty"`
	High *Quantity `json:"high,omitempty"`
}

// Extension is one FHIR extension: a value, or (complex) sub-extensions.
type Extension struct {
	URL                  string           `json:"url"`
	Extension            []Extension      `json:"extension,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueCode            string           `json:"valueCode,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueDateTime        string           `json:"valueDateTime,omitempty"`
	ValueInteger         *int             `json:"valueInteger,omitempty"`
	ValueRange           *Range           `json:"valueRange,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
}

// Location holds a unit's places, or a pool's, shared by its units.
type Location struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Meta         Meta         `json:"meta"`
	Extension    []Extension  `json:"extension,omitempty"`
	Identifier   []Identifier `json:"identifier,omitempty"`
	Status       string       `json:"status,omitempty"`
	Name         string       `json:"name,omitempty"`
	Alias        []string     `json:"alias,omitempty"`
	Description  string       `json:"description,omitempty"`
	Mode         string       `json:"mode,omitempty"`
}

// NotAvailable is a period when a HealthcareService is closed.
type NotAvailable struct {
	ID          string  `json:"id,omitempty"`
	Description string  `json:"description"`
	During      *Period `json:"during,omitempty"`
}

// HealthcareService is a unit (UO).
type HealthcareService struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Meta           Meta              `json:"meta"`
	Extension      []Extension       `json:"extension,omitempty"`
	Identifier     []Identifier      `json:"identifier,omitempty"`
	Active         *bool             `json:"active,omitempty"`
	ProvidedBy     *Reference        `json:"providedBy,omitempty"`
	Type           []CodeableConcept `json:"type,omitempty"`
	Specialty      []CodeableConcept `json:"specialty,omitempty"`
	Location       []Reference       `json:"location,omitempty"`
	Name           string            `json:"name,omitempty"`
	Comment        string            `json:"comment,omitempty"`
	Characteristic []CodeableConcept `json:"characteristic,omitempty"`
	NotAvailable   []NotAvailable    `json:"notAvailable,omitempty"`
}

// Bundle is a searchset.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource"`
	Search   *EntrySearch    `json:"search,omitempty"`
}

type EntrySearch struct {
	Mode string `json:"mode"`
}

// OperationOutcome tells what went wrong.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

type Issue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	Expression  []string         `json:"expression,omitempty"`
}

// instant writes t as FHIR's instant and dateTime: UTC, to the
// nanosecond the log keeps.
func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func ptr[T any](v T) *T { return &v }
