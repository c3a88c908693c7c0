package fhir

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"dispo/domain"
	"dispo/projections"
)

// Whatever a feeder sends, the PATCH decoder answers an operation list or
// a national refusal, never a panic; and the operations it accepts are
// judged without one.
func FuzzParsePatch(f *testing.F) {
	path := capacityPath + ".where(extension.where(url = 'capacityStatus' and valueCodeableConcept.coding.code = '02') and extension.where(url = 'temporalityCapacity' and valueCodeableConcept.coding.code = '01'))"
	ext := `{"url":"` + ExtCapacity + `","extension":[{"url":"nbCapacity","valueInteger":3},{"url":"capacityStatus","valueCodeableConcept":{"coding":[{"code":"02"}]}},` +
		`{"url":"capacityType","valueCodeableConcept":{"coding":[{"code":"02"}]}},{"url":"temporalityCapacity","valueCodeableConcept":{"coding":[{"code":"01"}]}},` +
		`{"url":"temporaryAssignement","valueCodeableConcept":{"coding":[{"code":"01"}]}}]}`
	f.Add(`{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueString":"replace"},{"name":"path","valueString":"` + path + `"},{"name":"value","part":[{"extension":[` + ext + `]}]}]}]}`)
	f.Add(`{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Location"},{"name":"value","valueExtension":` + ext + `}]}]}`)
	f.Add(`{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueString":"delete"}]}]}`)
	f.Add(`{"resourceType":"Parameters"}`)
	f.Add(`[]`)
	f.Add(`{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"path","valueString":"Location.extension.where(url='x'"}]}]}`)
	u := projections.UnitView{Unit: domain.Unit{ID: "u", Type: "udm"}, Available: 1, Installed: 10, LastDeclaredAt: time.Unix(1, 0)}
	f.Fuzz(func(t *testing.T, body string) {
		ops, err := parsePatch([]byte(body))
		if err != nil {
			var oe *outcomeError
			if !errors.As(err, &oe) || oe.status != 400 || oe.detail == "" {
				t.Fatalf("refusal %v is not a national 400", err)
			}
			return
		}
		if len(ops) == 0 {
			t.Fatal("no operation and no refusal")
		}
		if _, err := figures(&u, ops); err != nil {
			var oe *outcomeError
			if !errors.As(err, &oe) || oe.status != 400 && oe.status != 404 {
				t.Fatalf("judging %v: %v", ops, err)
			}
		}
	})
}

// FHIRPaths: criteria or an error, never a panic.
func FuzzParsePath(f *testing.F) {
	f.Add("Location")
	f.Add(capacityPath)
	f.Add(capacityPath + ".where(extension.where(url = 'capacityStatus' and valueCode = '02'))")
	f.Add("Location.extension.where(url='\\'")
	f.Fuzz(func(t *testing.T, path string) {
		crit, err := parsePath(path)
		if err == nil && crit != nil && len(crit) == 0 {
			t.Fatalf("%q: empty criteria without an error", path)
		}
	})
}

// Search parameters: a query or a refusal naming the parameter.
func FuzzParseQuery(f *testing.F) {
	f.Add("Location", "capacity-status=02&nb-capacity=gt0&_revinclude=HealthcareService:location")
	f.Add("Location", "_lastUpdated=ge2024-08-09T10:00:00%2B02:00&_lastUpdated=lt2025&_count=0")
	f.Add("HealthcareService", "identifier=https://finess.esante.gouv.fr|770110054,11/77-EG-01&active=true&_elements=name")
	f.Add("Location", "_position=3&_offset=200&capacity-update-date=eq2024-08")
	paris := domain.Paris()
	f.Fuzz(func(t *testing.T, resource, raw string) {
		if resource != "Location" && resource != "HealthcareService" {
			return
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, strict := range []bool{false, true} {
			q, err := parseQuery(resource, v, strict, paris)
			if err != nil {
				var pe *paramError
				if !errors.As(err, &pe) || pe.param == "" || !strings.Contains(pe.detail, pe.param) && pe.param != "(sans nom)" {
					t.Fatalf("refusal %v does not name its parameter", err)
				}
				continue
			}
			if q.count < 0 || q.count > maxPage {
				t.Fatalf("page of %d", q.count)
			}
		}
	})
}
