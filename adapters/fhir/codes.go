package fhir

import "dispo/domain"

// The national ROR's vocabulary: canonical URLs of the IG
// (ans.fhir.fr.ror, FHIR 4.0.1) and the code systems (TRE) its bindings
// use. Sources: docs/fhir/IG-NOTES.md and docs/fhir/TERMINOLOGY-NOTES.md.
const (
	igStructure = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"

	ProfileLocation          = igStructure + "ror-location"
	ProfileHealthcareService = igStructure + "ror-healthcareservice"
	ExtCapacity              = igStructure + "ror-location-supported-capacity"
	extCommuneCog            = igStructure + "ror-commune-cog"
	extCreationDate          = igStructure + "ror-meta-creation-date"
	extSensitiveUnit         = igStructure + "ror-healthcareservice-sensitive-unit"
	extPatientType           = igStructure + "ror-healthcareservice-patient-type"
)

// tre is the canonical URL of a national code system.
func tre(id, name string) string {
	return "https://mos.esante.gouv.fr/NOS/TRE_" + id + "-" + name + "/FHIR/TRE-" + id + "-" + name
}

var (
	sysRegion          = tre("R30", "RegionOM")
	sysCapacityType    = tre("R329", "NatureCapacite")
	sysCapacityStatus  = tre("R330", "TypeStatutCapacite")
	sysTemporality     = tre("R331", "TemporaliteCapacite")
	sysGender          = tre("R332", "GenreCapacite")
	sysClosingType     = tre("R333", "TypeFermetureCapacite")
	sysSourceType      = tre("R335", "TypeSourceCapacite")
	sysAssignment      = tre("R337", "AffectationTemporaire")
	sysResourceIDType  = tre("R354", "TypeIdentifiantRessourceOperationnelle")
	sysServiceIDType   = tre("R355", "TypeIdentifiantOffre")
	sysActivityField   = tre("R227", "ChampActivite")
	sysActivity        = tre("R211", "ActiviteOperationnelle")
	sysCareMode        = tre("R213", "ModePriseEnCharge")
	sysFINESS          = "https://finess.esante.gouv.fr"
	sysFRCoreIDType    = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
	sysSubsetted       = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
	regionIDF          = Coding{System: sysRegion, Code: "11", Display: "Île-de-France"}
	regionCode         = regionIDF.Code
	locationIDType     = concept(sysResourceIDType, "25", "Identifiant du lieu de réalisation de l'offre connu par l'instance ROR")
	syncIDType         = concept(sysResourceIDType, "26", "Identifiant de la zone d'hébergement connu par l'établissement")
	serviceIDType      = concept(sysServiceIDType, "35", "Identifiant fonctionnel de l'offre connu par l'instance ROR")
	finessIDType       = concept(sysFRCoreIDType, "FINEG", "FINESS d'entité géographique")
	closedPeriodID     = "closingReopeningDate"
	closedPeriodDetail = "Période de fermeture et de réouverture prévisionnelle"
)

// Capacity codes dispo speaks: the figures it keeps are three
// indicators, current (temporality 01), with no temporary assignment (01).
const (
	natureBed   = "01" // Lit
	naturePlace = "02" // Place

	statusInstalled = "01"
	statusAvailable = "02"
	statusClosed    = "05"

	temporalityCurrent = "01"
	assignmentNone     = "01"

	closingReopenable    = "01"
	closingNotReopenable = "02"
	closingUnknown       = "03"
)

var natureLabels = map[string]string{natureBed: "Lit", naturePlace: "Place"}

var statusLabels = map[string]string{
	"01": "Installé", "02": "Disponible", "03": "Occupé", "04": "Réservé", "05": "Fermé", "06": "Supplémentaire",
}

var temporalityLabels = map[string]string{
	"01": "Courant", "02": "Prévisionnel 1 heure", "03": "Prévisionnel 24 heures", "04": "Prévisionnel 48 heures", "05": "Prévisionnel 7 jours",
}

var genderLabels = map[string]string{"01": "Femme", "02": "Homme", "03": "Indifférencié", "04": "Indéterminé"}

var closingLabels = map[string]string{closingReopenable: "Réactivable", closingNotReopenable: "Non réactivable", closingUnknown: "Indéterminé"}

var sourceLabels = map[string]string{
	domain.CapacitySourceManual:        "Saisie manuelle",
	domain.CapacitySourceBedManagement: "Bed management",
	domain.CapacitySourceGAM:           "Gestion administrative du malade (GAM)",
	domain.CapacitySourceDPI:           "Dossier patient informatisé (DPI)",
}

var assignmentLabels = map[string]string{"01": "Aucune", "02": "Covid+", "03": "Covid-"}

// offer is how the national model describes a kind of unit: its field of
// activity (R227), operational activity (R211) and care mode (R213), and
// the ages it receives. The national codes have no dialysis modality of
// their own (TERMINOLOGY-NOTES §2): every haemodialysis modality is 059
// Hémodialyse chronique in séances (32); home dialysis is 583 Dialyse
// péritonéale, received where the patient lives (49). dispo does not keep
// a unit's patientele: the age range is the widest its type allows.
type offer struct {
	field, fieldLabel       string
	activity, activityLabel string
	mode, modeLabel         string
	ageLow, ageHigh         int
}

const maxAge = 120

var offers = map[string]offer{
	"centre_lourd": {"01", "Médecine Chirurgie Obstétrique (MCO)", "059", "Hémodialyse chronique", "32", "Consultation (CS) ou Séance", 0, maxAge},
	"udm":          {"01", "Médecine Chirurgie Obstétrique (MCO)", "059", "Hémodialyse chronique", "32", "Consultation (CS) ou Séance", 0, maxAge},
	"autodialyse":  {"01", "Médecine Chirurgie Obstétrique (MCO)", "059", "Hémodialyse chronique", "32", "Consultation (CS) ou Séance", 0, maxAge},
	"entrainement": {"01", "Médecine Chirurgie Obstétrique (MCO)", "059", "Hémodialyse chronique", "32", "Consultation (CS) ou Séance", 0, maxAge},
	"domicile":     {"01", "Médecine Chirurgie Obstétrique (MCO)", "583", "Dialyse péritonéale", "49", "Sur les lieux de vie", 0, maxAge},
	"neonatal":     {"01", "Médecine Chirurgie Obstétrique (MCO)", "094", "Néonatalogie", "28", "Hospitalisation complète (HC)", 0, 1},
	"naissance":    {"01", "Médecine Chirurgie Obstétrique (MCO)", "100", "Obstétrique", "28", "Hospitalisation complète (HC)", 0, maxAge},
	"psy_adult":    {"03", "Psychiatrie (PSY)", "229", "Psychiatrie adulte", "28", "Hospitalisation complète (HC)", 18, maxAge},
	"psy_child":    {"03", "Psychiatrie (PSY)", "227", "Psychiatrie de l'enfant (pédopsychiatrie)", "28", "Hospitalisation complète (HC)", 0, 17},
	"ssr":          {"02", "Soins Médicaux et de réadaptation (SMR)", "172", "Réadaptation polyvalente", "28", "Hospitalisation complète (HC)", 0, maxAge},
	"srpr":         {"02", "Soins Médicaux et de réadaptation (SMR)", "244", "Réadaptation Post-Réanimation (SRPR)", "28", "Hospitalisation complète (HC)", 0, maxAge},
}

// natureOf is what a unit's figures count: places for dialysis, beds for
// the other categories.
func natureOf(unitType string) string {
	if t, ok := domain.LookupType(unitType); ok {
		if c, ok := domain.LookupCategory(t.Category); ok && c.Counting == domain.Places {
			return naturePlace
		}
	}
	return natureBed
}

// idNatStruct is the national structure id of a FINESS-identified
// establishment.
func idNatStruct(finess string) string { return "1" + finess }
