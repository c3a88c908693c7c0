package fhir_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// The IG's constraints on RORLocation, RORHealthcareService and the
// capacity extension, written from its FSH (docs/fhir/IG-NOTES.md §1-3:
// RORLocationSupportedCapacity.fsh @045f362, RORLocation.fsh @9be76d4,
// RORHealthcareService.fsh @6b200ef, RORHealthcareServicePatientType.fsh
// @002ae2f) and the value sets their required bindings name
// (docs/fhir/TERMINOLOGY-NOTES.md). They are the test's own, not the
// code's: a wrong code in the code would not pass for being in both.

const (
	ig  = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
	nos = "https://mos.esante.gouv.fr/NOS/"
)

func treURL(id, name string) string {
	return nos + "TRE_" + id + "-" + name + "/FHIR/TRE-" + id + "-" + name
}

// binding is a required binding: the system of the codes, and the codes
// of the value set.
type binding struct {
	system string
	codes  []string
}

// The capacity extension's sub-extensions: cardinality, value type, binding.
var capacityParts = []struct {
	url      string
	min, max int
	value    string // the only value[x] allowed
	bind     *binding
}{
	{"capacityType", 1, 1, "valueCodeableConcept", &binding{treURL("R329", "NatureCapacite"), []string{"01", "02"}}},                               // JDV_J187
	{"capacityStatus", 1, 1, "valueCodeableConcept", &binding{treURL("R330", "TypeStatutCapacite"), []string{"01", "02", "03", "04", "05", "06"}}}, // JDV_J188
	{"temporalityCapacity", 1, 1, "valueCodeableConcept", &binding{treURL("R331", "TemporaliteCapacite"), []string{"01", "02", "03", "04", "05"}}}, // JDV_J189
	{"nbCapacity", 1, 1, "valueInteger", nil},
	{"capacitySourceType", 1, 1, "valueCodeableConcept", &binding{treURL("R335", "TypeSourceCapacite"), []string{"01", "02", "03", "04"}}}, // JDV_J193
	{"genderCapacityAvailable", 0, 1, "valueCodeableConcept", &binding{treURL("R332", "GenreCapacite"), []string{"01", "02", "03", "04"}}}, // JDV_J190
	{"capacityUpdateDate", 1, 1, "valueDateTime", nil},
	{"capacityClosingType", 0, 1, "valueCodeableConcept", &binding{treURL("R333", "TypeFermetureCapacite"), []string{"01", "02", "03"}}},  // JDV_J191
	{"additionalBedType", 0, 1, "valueCodeableConcept", &binding{treURL("R334", "TypeLitSupplementaire"), []string{"01", "02", "03"}}},    // JDV_J192
	{"crisisType", 0, 1, "valueCodeableConcept", &binding{treURL("R336", "TypeCrise"), []string{"01", "02"}}},                             // JDV_J194
	{"temporaryAssignement", 1, 1, "valueCodeableConcept", &binding{treURL("R337", "AffectationTemporaire"), []string{"01", "02", "03"}}}, // JDV_J195
}

// JDV_J237-RegionOM-ROR, from TRE_R30.
var regions = &binding{treURL("R30", "RegionOM"), []string{"01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"}}

// JDV_J20-ChampActivite-ROR, from TRE_R227.
var activityFields = &binding{treURL("R227", "ChampActivite"), []string{"01", "02", "03", "04", "05", "06"}}

var valueKeys = []string{"valueBoolean", "valueCode", "valueCodeableConcept", "valueCoding", "valueDateTime", "valueInteger", "valueRange", "valueString", "valuePeriod", "valueReference"}

type obj = map[string]any

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func object(v any) obj {
	o, _ := v.(obj)
	return o
}

// checkBinding: a CodeableConcept with a coding of the bound system whose
// code is in the value set.
func checkBinding(where string, cc obj, b *binding) []string {
	for _, c := range list(cc["coding"]) {
		c := object(c)
		if c["system"] == b.system && slices.Contains(b.codes, fmt.Sprint(c["code"])) {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: no coding of %s in %v (required binding): %v", where, b.system, b.codes, cc)}
}

// extensions returns ext's elements whose url is url.
func extensions(exts any, url string) []obj {
	var out []obj
	for _, e := range list(exts) {
		if e := object(e); e["url"] == url {
			out = append(out, e)
		}
	}
	return out
}

func checkValue(where string, e obj, want string) []string {
	var errs []string
	for _, k := range valueKeys {
		if _, ok := e[k]; ok && k != want {
			errs = append(errs, fmt.Sprintf("%s: %s where only %s is allowed", where, k, want))
		}
	}
	if _, ok := e[want]; !ok {
		errs = append(errs, fmt.Sprintf("%s: no %s", where, want))
	}
	return errs
}

func checkCapacity(where string, ext obj) []string {
	var errs []string
	for _, p := range capacityParts {
		found := extensions(ext["extension"], p.url)
		if len(found) < p.min || len(found) > p.max {
			errs = append(errs, fmt.Sprintf("%s: %d %s, want %d..%d", where, len(found), p.url, p.min, p.max))
		}
		for _, f := range found {
			w := where + "." + p.url
			errs = append(errs, checkValue(w, f, p.value)...)
			if p.bind != nil {
				if cc := object(f["valueCodeableConcept"]); cc != nil {
					errs = append(errs, checkBinding(w, cc, p.bind)...)
				}
			}
		}
	}
	return errs
}

func checkCard(where string, n, min, max int) []string {
	if n < min || max >= 0 && n > max {
		m := fmt.Sprint(max)
		if max < 0 {
			m = "*"
		}
		return []string{fmt.Sprintf("%s: %d, want %d..%s", where, n, min, m)}
	}
	return nil
}

func count(v any) int {
	switch v := v.(type) {
	case nil:
		return 0
	case []any:
		return len(v)
	}
	return 1
}

func checkMeta(rt string, r obj) []string {
	m := object(r["meta"])
	errs := checkCard(rt+".meta.lastUpdated", count(m["lastUpdated"]), 1, 1)
	var region []obj
	for _, t := range list(m["tag"]) {
		if t := object(t); t["system"] == regions.system {
			region = append(region, t)
		}
	}
	errs = append(errs, checkCard(rt+".meta.tag[codeRegion]", len(region), 0, 1)...)
	for _, t := range region {
		if !slices.Contains(regions.codes, fmt.Sprint(t["code"])) {
			errs = append(errs, fmt.Sprintf("%s.meta.tag[codeRegion]: code %v not in JDV_J237", rt, t["code"]))
		}
	}
	return errs
}

// checkTelecom: a telecom present has a value and says its channel and
// confidentiality.
func checkTelecom(rt string, r obj) []string {
	var errs []string
	for i, t := range list(r["telecom"]) {
		t := object(t)
		w := fmt.Sprintf("%s.telecom[%d]", rt, i)
		errs = append(errs, checkCard(w+".value", count(t["value"]), 1, 1)...)
		errs = append(errs, checkCard(w+".extension[ror-telecom-communication-channel]", len(extensions(t["extension"], ig+"ror-telecom-communication-channel")), 1, 1)...)
		errs = append(errs, checkCard(w+".extension[ror-telecom-confidentiality-level]", len(extensions(t["extension"], ig+"ror-telecom-confidentiality-level")), 1, 1)...)
	}
	return errs
}

func checkLocation(r obj) []string {
	errs := checkMeta("Location", r)
	errs = append(errs, checkCard("Location.extension[ror-commune-cog]", len(extensions(r["extension"], ig+"ror-commune-cog")), 1, 1)...)
	for _, e := range extensions(r["extension"], ig+"ror-commune-cog") {
		errs = append(errs, checkValue("Location.extension[ror-commune-cog]", e, "valueCodeableConcept")...)
	}
	errs = append(errs, checkCard("Location.extension[ror-meta-creation-date]", len(extensions(r["extension"], ig+"ror-meta-creation-date")), 1, 1)...)
	for _, e := range extensions(r["extension"], ig+"ror-meta-creation-date") {
		errs = append(errs, checkValue("Location.extension[ror-meta-creation-date]", e, "valueDateTime")...)
	}
	for i, e := range extensions(r["extension"], ig+"ror-location-supported-capacity") {
		errs = append(errs, checkCapacity(fmt.Sprintf("Location.extension[ror-location-supported-capacity][%d]", i), e)...)
	}
	// identifier slices, on type.coding.code (TRE_R354): 25 idLocation,
	// 26 idExterneSynchro, each 0..1.
	slice := map[string]int{}
	for _, id := range list(r["identifier"]) {
		for _, c := range list(object(object(id)["type"])["coding"]) {
			if c := object(c); c["system"] == treURL("R354", "TypeIdentifiantRessourceOperationnelle") {
				slice[fmt.Sprint(c["code"])]++
			}
		}
	}
	errs = append(errs, checkCard("Location.identifier[idLocation]", slice["25"], 0, 1)...)
	errs = append(errs, checkCard("Location.identifier[idExterneSynchro]", slice["26"], 0, 1)...)
	errs = append(errs, checkCard("Location.type", count(r["type"]), 0, 1)...)
	return append(errs, checkTelecom("Location", r)...)
}

func checkService(r obj) []string {
	errs := checkMeta("HealthcareService", r)
	errs = append(errs, checkCard("HealthcareService.identifier", count(r["identifier"]), 1, 1)...)
	errs = append(errs, checkCard("HealthcareService.type", count(r["type"]), 1, 1)...)
	for _, t := range list(r["type"]) {
		errs = append(errs, checkBinding("HealthcareService.type", object(t), activityFields)...)
	}
	errs = append(errs, checkCard("HealthcareService.providedBy", count(r["providedBy"]), 1, 1)...)
	errs = append(errs, checkCard("HealthcareService.name", count(r["name"]), 1, 1)...)
	// The slices careMode and operationalActivity are the concepts of their
	// code systems (TRE_R213, TRE_R211).
	inSystem := func(field, system string) int {
		n := 0
		for _, c := range list(r[field]) {
			if slices.ContainsFunc(list(object(c)["coding"]), func(x any) bool { return object(x)["system"] == system }) {
				n++
			}
		}
		return n
	}
	errs = append(errs, checkCard("HealthcareService.characteristic", count(r["characteristic"]), 1, -1)...)
	errs = append(errs, checkCard("HealthcareService.characteristic[careMode]", inSystem("characteristic", treURL("R213", "ModePriseEnCharge")), 1, 1)...)
	errs = append(errs, checkCard("HealthcareService.specialty", count(r["specialty"]), 1, -1)...)
	errs = append(errs, checkCard("HealthcareService.specialty[operationalActivity]", inSystem("specialty", treURL("R211", "ActiviteOperationnelle")), 1, 1)...)
	one := func(url, value string) {
		found := extensions(r["extension"], ig+url)
		errs = append(errs, checkCard("HealthcareService.extension["+url+"]", len(found), 1, 1)...)
		for _, e := range found {
			if value != "" {
				errs = append(errs, checkValue("HealthcareService.extension["+url+"]", e, value)...)
			}
		}
	}
	one("ror-meta-creation-date", "valueDateTime")
	one("ror-healthcareservice-sensitive-unit", "valueBoolean")
	one("ror-healthcareservice-patient-type", "")
	for _, pt := range extensions(r["extension"], ig+"ror-healthcareservice-patient-type") {
		ages := extensions(pt["extension"], "ageRange")
		errs = append(errs, checkCard("patient-type.ageRange", len(ages), 1, 1)...)
		for _, a := range ages {
			errs = append(errs, checkValue("patient-type.ageRange", a, "valueRange")...)
			rg := object(a["valueRange"])
			errs = append(errs, checkCard("patient-type.ageRange.low", count(rg["low"]), 1, 1)...)
			errs = append(errs, checkCard("patient-type.ageRange.high", count(rg["high"]), 1, 1)...)
		}
	}
	// notAvailable 0..1; its slice closingReopeningDate has a fixed id and
	// description.
	errs = append(errs, checkCard("HealthcareService.notAvailable", count(r["notAvailable"]), 0, 1)...)
	for _, na := range list(r["notAvailable"]) {
		na := object(na)
		if na["id"] == "closingReopeningDate" && na["description"] != "Période de fermeture et de réouverture prévisionnelle" {
			errs = append(errs, fmt.Sprintf("HealthcareService.notAvailable[closingReopeningDate].description %q is not the fixed one", na["description"]))
		}
	}
	return append(errs, checkTelecom("HealthcareService", r)...)
}

// profileErrors judges a Location or HealthcareService by its ROR profile.
func profileErrors(body []byte) []string {
	var r obj
	if err := json.Unmarshal(body, &r); err != nil {
		return []string{err.Error()}
	}
	switch r["resourceType"] {
	case "Location":
		return checkLocation(r)
	case "HealthcareService":
		return checkService(r)
	}
	return []string{fmt.Sprintf("resourceType %v has no ROR profile here", r["resourceType"])}
}

func readExample(t *testing.T, name string) obj {
	t.Helper()
	b, err := os.ReadFile("testdata/ig/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var r obj
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func encode(t *testing.T, r obj) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The checks are proven on the IG's own examples: they pass, and every
// mutation that breaks one constraint fails them (and only where said).
func TestProfileChecksOnTheIGsExamples(t *testing.T) {
	for _, name := range []string{"ror-location-exemple-1.json", "ror-healthcareservice-exemple.json"} {
		body := encode(t, readExample(t, name))
		if errs := profileErrors(body); len(errs) > 0 {
			t.Errorf("%s fails the profile checks:\n  %s", name, strings.Join(errs, "\n  "))
		}
		if err := schemaErrors(t, body); err != nil {
			t.Errorf("%s fails the R4 schema: %v", name, err)
		}
	}
	capOf := func(r obj, i int) obj { return object(list(r["extension"])[i]) }
	sub := func(r obj, i int, url string) obj { return extensions(capOf(r, i)["extension"], url)[0] }
	dropSub := func(r obj, i int, url string) {
		c := capOf(r, i)
		c["extension"] = slices.DeleteFunc(list(c["extension"]), func(e any) bool { return object(e)["url"] == url })
	}
	dropExt := func(r obj, url string) {
		r["extension"] = slices.DeleteFunc(list(r["extension"]), func(e any) bool { return object(e)["url"] == url })
	}
	mutations := []struct {
		file, name, want string
		mutate           func(r obj)
	}{
		{"ror-location-exemple-1.json", "a capacity without its required capacityStatus", "0 capacityStatus",
			func(r obj) { dropSub(r, 1, "capacityStatus") }},
		{"ror-location-exemple-1.json", "a capacity without nbCapacity", "0 nbCapacity",
			func(r obj) { dropSub(r, 1, "nbCapacity") }},
		{"ror-location-exemple-1.json", "a capacity without temporaryAssignement", "0 temporaryAssignement",
			func(r obj) { dropSub(r, 3, "temporaryAssignement") }},
		{"ror-location-exemple-1.json", "a status outside JDV_J188", "required binding",
			func(r obj) {
				object(list(object(sub(r, 1, "capacityStatus")["valueCodeableConcept"])["coding"])[0])["code"] = "07"
			}},
		{"ror-location-exemple-1.json", "a nature in the wrong code system", "required binding",
			func(r obj) {
				object(list(object(sub(r, 1, "capacityType")["valueCodeableConcept"])["coding"])[0])["system"] = treURL("R330", "TypeStatutCapacite")
			}},
		{"ror-location-exemple-1.json", "a coded part as valueCoding", "only valueCodeableConcept",
			func(r obj) {
				s := sub(r, 1, "capacitySourceType")
				s["valueCoding"] = list(object(s["valueCodeableConcept"])["coding"])[0]
				delete(s, "valueCodeableConcept")
			}},
		{"ror-location-exemple-1.json", "two nbCapacity in one capacity", "2 nbCapacity",
			func(r obj) {
				c := capOf(r, 1)
				c["extension"] = append(list(c["extension"]), obj{"url": "nbCapacity", "valueInteger": 1})
			}},
		{"ror-location-exemple-1.json", "no commune", "ror-commune-cog]: 0",
			func(r obj) { dropExt(r, ig+"ror-commune-cog") }},
		{"ror-location-exemple-1.json", "no creation date", "ror-meta-creation-date]: 0",
			func(r obj) { dropExt(r, ig+"ror-meta-creation-date") }},
		{"ror-location-exemple-1.json", "no meta.lastUpdated", "meta.lastUpdated: 0",
			func(r obj) { delete(object(r["meta"]), "lastUpdated") }},
		{"ror-location-exemple-1.json", "a region outside JDV_J237", "not in JDV_J237",
			func(r obj) { object(list(object(r["meta"])["tag"])[0])["code"] = "99" }},
		{"ror-location-exemple-1.json", "two idLocation", "identifier[idLocation]: 2",
			func(r obj) { r["identifier"] = append(list(r["identifier"]), list(r["identifier"])[0]) }},
		{"ror-healthcareservice-exemple.json", "no identifier", "HealthcareService.identifier: 0",
			func(r obj) { delete(r, "identifier") }},
		{"ror-healthcareservice-exemple.json", "a field of activity outside JDV_J20", "required binding",
			func(r obj) { object(list(object(list(r["type"])[0])["coding"])[0])["code"] = "09" }},
		{"ror-healthcareservice-exemple.json", "no care mode", "characteristic[careMode]: 0",
			func(r obj) { r["characteristic"] = list(r["characteristic"])[1:] }},
		{"ror-healthcareservice-exemple.json", "no operational activity", "HealthcareService.specialty: 0",
			func(r obj) { delete(r, "specialty") }},
		{"ror-healthcareservice-exemple.json", "no patient type", "patient-type]: 0",
			func(r obj) { dropExt(r, ig+"ror-healthcareservice-patient-type") }},
		{"ror-healthcareservice-exemple.json", "an age range without its upper bound", "ageRange.high: 0",
			func(r obj) {
				pt := extensions(r["extension"], ig+"ror-healthcareservice-patient-type")[0]
				delete(object(extensions(pt["extension"], "ageRange")[0]["valueRange"]), "high")
			}},
		{"ror-healthcareservice-exemple.json", "no sensitive-unit flag", "sensitive-unit]: 0",
			func(r obj) { dropExt(r, ig+"ror-healthcareservice-sensitive-unit") }},
		{"ror-healthcareservice-exemple.json", "no name", "HealthcareService.name: 0",
			func(r obj) { delete(r, "name") }},
	}
	for _, m := range mutations {
		r := readExample(t, m.file)
		m.mutate(r)
		errs := profileErrors(encode(t, r))
		if len(errs) == 0 {
			t.Errorf("%s: %s passes the profile checks", m.file, m.name)
			continue
		}
		if !strings.Contains(strings.Join(errs, "\n"), m.want) {
			t.Errorf("%s: %s fails for another reason than %q:\n  %s", m.file, m.name, m.want, strings.Join(errs, "\n  "))
		}
	}
}

// The schema check is no formality either: it refuses what R4 refuses.
func TestSchemaRefusesWhatR4Refuses(t *testing.T) {
	for _, bad := range []struct {
		name   string
		mutate func(r obj)
	}{
		{"an element R4 does not have", func(r obj) { r["capacity"] = 3 }},
		{"an integer as a string", func(r obj) { object(list(object(list(r["extension"])[1])["extension"])[0])["valueInteger"] = "15" }},
		{"a malformed instant", func(r obj) { object(r["meta"])["lastUpdated"] = "5 décembre 2024" }},
		{"an unknown status", func(r obj) { r["status"] = "open" }},
		{"an id with a space", func(r obj) { r["id"] = "ror location" }},
	} {
		r := readExample(t, "ror-location-exemple-1.json")
		bad.mutate(r)
		if err := schemaErrors(t, encode(t, r)); err == nil {
			t.Errorf("the R4 schema accepts %s", bad.name)
		}
	}
}
