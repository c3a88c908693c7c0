package domain

// Counting tells what a category counts: dialysis counts places, the other
// ROR categories of the consultation matrix count beds.
type Counting string

const (
	Places Counting = "places"
	Beds   Counting = "lits"
)

// Category is a row group of the consultation matrix ("Dialyse", "Lits SSR"...).
type Category struct {
	Code     string
	Label    string
	Counting Counting
}

// UnitType is a unit's modality or kind; each belongs to one category.
type UnitType struct {
	Code     string
	Label    string
	Category string
}

// Categories in the order the seed's matrix lists them.
var Categories = []Category{
	{"neonatal", "Hospitalisation complète (HC) Médecine Néonatale hors unité Kangourou", Beds},
	{"psy_adult", "Lits psychiatrie adultes", Beds},
	{"psy_child", "Lits psychiatrie enfants/adolescents", Beds},
	{"srpr", "Lits SRPR", Beds},
	{"ssr", "Lits SSR", Beds},
	{"dialyse", "Dialyse", Places},
	{"naissance", "Salle de travail (salle de naissance)", Beds},
}

// UnitTypes is the catalog, ordered as the matrix shows its rows. The five
// dialysis modalities are types of their own; the other categories have one
// type each.
var UnitTypes = []UnitType{
	{"neonatal", "Médecine néonatale", "neonatal"},
	{"psy_adult", "Psychiatrie adultes", "psy_adult"},
	{"psy_child", "Psychiatrie enfants/adolescents", "psy_child"},
	{"srpr", "SRPR", "srpr"},
	{"ssr", "SSR", "ssr"},
	{"centre_lourd", "Centre lourd", "dialyse"},
	{"udm", "Unité de dialyse médicalisée", "dialyse"},
	{"autodialyse", "Autodialyse", "dialyse"},
	{"entrainement", "Entraînement", "dialyse"},
	{"domicile", "Dialyse à domicile", "dialyse"},
	{"naissance", "Salle de naissance", "naissance"},
}

// DialysisTypes are the dialysis modalities, in catalog order.
var DialysisTypes = []string{"centre_lourd", "udm", "autodialyse", "entrainement", "domicile"}

// LookupType returns the catalog entry for code.
func LookupType(code string) (UnitType, bool) {
	for _, t := range UnitTypes {
		if t.Code == code {
			return t, true
		}
	}
	return UnitType{}, false
}

// LookupCategory returns the category for code.
func LookupCategory(code string) (Category, bool) {
	for _, c := range Categories {
		if c.Code == code {
			return c, true
		}
	}
	return Category{}, false
}
