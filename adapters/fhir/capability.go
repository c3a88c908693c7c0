package fhir

import (
	"net/http"
	"time"
)

// The CapabilityStatement says exactly what /fhir serves: the reads,
// searches and PATCH below, nothing else.

type capabilityStatement struct {
	ResourceType   string           `json:"resourceType"`
	Status         string           `json:"status"`
	Date           string           `json:"date"`
	Publisher      string           `json:"publisher"`
	Kind           string           `json:"kind"`
	Software       capSoftware      `json:"software"`
	Implementation capImplementaton `json:"implementation"`
	FHIRVersion    string           `json:"fhirVersion"`
	Format         []string         `json:"format"`
	PatchFormat    []string         `json:"patchFormat"`
	ImplementGuide []string         `json:"implementationGuide"`
	Rest           []capRest        `json:"rest"`
}

type capSoftware struct {
	Name string `json:"name"`
}

type capImplementaton struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

type capRest struct {
	Mode          string        `json:"mode"`
	Documentation string        `json:"documentation"`
	Security      capSecurity   `json:"security"`
	Resource      []capResource `json:"resource"`
}

type capSecurity struct {
	Description string `json:"description"`
}

type capResource struct {
	Type              string           `json:"type"`
	Profile           string           `json:"profile"`
	Documentation     string           `json:"documentation,omitempty"`
	Interaction       []capInteraction `json:"interaction"`
	Versioning        string           `json:"versioning"`
	ConditionalUpdate *bool            `json:"conditionalUpdate,omitempty"`
	SearchRevInclude  []string         `json:"searchRevInclude,omitempty"`
	SearchInclude     []string         `json:"searchInclude,omitempty"`
	SearchParam       []capSearchParam `json:"searchParam"`
}

type capInteraction struct {
	Code          string `json:"code"`
	Documentation string `json:"documentation,omitempty"`
}

type capSearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

const spBase = "https://interop.esante.gouv.fr/ig/fhir/ror/SearchParameter/"

var commonSearch = []capSearchParam{
	{Name: "_id", Definition: "http://hl7.org/fhir/SearchParameter/Resource-id", Type: "token", Documentation: "identifiant logique ; liste séparée par des virgules admise"},
	{Name: "_lastUpdated", Definition: "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated", Type: "date", Documentation: "préfixes eq, ne, gt, lt, ge, le ; sans fuseau, heure de Paris"},
	{Name: "_tag", Definition: "http://hl7.org/fhir/SearchParameter/Resource-tag", Type: "token", Documentation: "région source : " + "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM|11"},
	{Name: "identifier", Type: "token", Documentation: "11/{identifiant de l'UO}, {IdNatStruct}/{idExterneSynchro}, FINESS (https://finess.esante.gouv.fr|…) ou IdNatStruct (urn:oid:1.2.250.1.71.4.2.2|1…)"},
	{Name: "_at", Type: "date", Documentation: "extension de dispo, hors FHIR : l'état au moment donné (RFC 3339), tel que le journal l'établit"},
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	locParams := append([]capSearchParam{}, commonSearch...)
	locParams = append(locParams,
		capSearchParam{Name: "capacity-status", Definition: spBase + "ror-sp-capacity-status", Type: "token", Documentation: "TRE_R330 : 01 installées, 02 disponibles, 05 fermées"},
		capSearchParam{Name: "capacity-type", Definition: spBase + "ror-sp-capacity-type", Type: "token", Documentation: "TRE_R329 : 01 lit, 02 place"},
		capSearchParam{Name: "temporality-capacity", Definition: spBase + "ror-sp-temporality-capacity", Type: "token", Documentation: "TRE_R331 : 01 courant (le seul que dispo tient)"},
		capSearchParam{Name: "nb-capacity", Definition: spBase + "ror-sp-nb-capacity", Type: "number", Documentation: "préfixes eq, ne, gt, lt, ge, le ; les paramètres de capacité valent pour un même indicateur"},
		capSearchParam{Name: "capacity-update-date", Definition: spBase + "ror-sp-capacity-update-date", Type: "date", Documentation: "date de la déclaration"},
	)
	hsParams := append([]capSearchParam{}, commonSearch...)
	hsParams = append(hsParams, capSearchParam{Name: "active", Definition: "http://hl7.org/fhir/SearchParameter/HealthcareService-active", Type: "token", Documentation: "false : les UO retirées de l'annuaire"})
	reads := []capInteraction{{Code: "read"}, {Code: "search-type", Documentation: "GET et POST _search ; lots (Bundle searchset) de 200 entrées au plus, total, liens next pris à une position du journal ; paramètres inconnus ignorés, refusés avec Prefer: handling=strict"}}
	cs := capabilityStatement{
		ResourceType: "CapabilityStatement", Status: "active", Date: instant(s.cfg.Now().Truncate(24 * time.Hour)), Publisher: "dispo",
		Kind: "instance", Software: capSoftware{Name: "dispo"},
		Implementation: capImplementaton{Description: "dispo : disponibilités en dialyse d'Île-de-France (ROR-IF), au format du ROR national", URL: s.base(r)},
		FHIRVersion:    "4.0.1", Format: []string{"application/fhir+json", "json"}, PatchFormat: []string{"application/fhir+json"},
		ImplementGuide: []string{"https://interop.esante.gouv.fr/ig/fhir/ror"},
		Rest: []capRest{{
			Mode: "server",
			Documentation: "Une UO est un HealthcareService ; ses places, une Location portant une extension ror-location-supported-capacity par indicateur (disponibles, installées, fermées). Des UO aux places mutualisées partagent une Location. " +
				"Paramètres de résultat : _count (200 au plus), _elements, _format (JSON seulement), _summary=count ; _position et _offset viennent des liens next et previous (la page est prise à cette position du journal). " +
				"_at n'est pas FHIR : c'est l'état à un instant, tel que le journal l'établit.",
			Security: capSecurity{Description: "Authorization: Bearer <jeton> (dispo users token) ; les mêmes droits que l'API JSON : tout compte consulte, un responsable ou un logiciel habilité déclare pour ses établissements."},
			Resource: []capResource{
				{Type: "Location", Profile: ProfileLocation, Versioning: "no-version",
					Documentation:    "PATCH [base]/Location?identifier={IdNatStruct}/{idExterneSynchro} (et [base]/ws-synchro-dispo-lits-fhir/Location) : FHIRPath Patch des indicateurs, replace ou add ; toutes les opérations font une seule déclaration, ou aucune.",
					Interaction:      append(append([]capInteraction{}, reads...), capInteraction{Code: "patch", Documentation: "conditionnel, par identifier"}),
					SearchRevInclude: []string{"HealthcareService:location"}, SearchParam: locParams},
				{Type: "HealthcareService", Profile: ProfileHealthcareService, Versioning: "no-version",
					Interaction: reads, SearchInclude: []string{"HealthcareService:location"}, SearchParam: hsParams},
			},
		}},
	}
	writeResource(w, http.StatusOK, cs)
}
