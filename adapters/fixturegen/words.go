package fixturegen

// Word lists the directory is made from. Towns are real communes of each
// department; establishment names are made up from them and are not meant to
// designate real establishments.

// departmentWeights share the units among domain.IleDeFrance, in its order:
// Paris has the most, the outer ring the fewest.
var departmentWeights = []int{22, 11, 11, 11, 12, 13, 11, 9}

var towns = map[string][]string{
	"75": {"Bercy", "Les Batignolles", "Auteuil", "La Villette", "Les Gobelins", "Montparnasse", "Belleville",
		"Vaugirard", "Plaisance", "La Nation", "Les Ternes", "Montsouris", "Grenelle", "Saint-Lazare", "Picpus", "Charonne"},
	"77": {"Meaux", "Melun", "Chelles", "Pontault-Combault", "Fontainebleau", "Montereau-Fault-Yonne", "Provins",
		"Coulommiers", "Lagny-sur-Marne", "Nemours", "Savigny-le-Temple", "Torcy", "Jossigny", "Dammarie-les-Lys"},
	"78": {"Versailles", "Saint-Germain-en-Laye", "Poissy", "Mantes-la-Jolie", "Rambouillet", "Le Chesnay", "Trappes",
		"Plaisir", "Sartrouville", "Conflans-Sainte-Honorine", "Houilles", "Les Mureaux", "Élancourt"},
	"91": {"Évry-Courcouronnes", "Corbeil-Essonnes", "Massy", "Longjumeau", "Étampes", "Orsay", "Juvisy-sur-Orge",
		"Draveil", "Savigny-sur-Orge", "Les Ulis", "Quincy-sous-Sénart", "Arpajon", "Palaiseau", "Athis-Mons"},
	"92": {"Boulogne-Billancourt", "Nanterre", "Clamart", "Colombes", "Neuilly-sur-Seine", "Suresnes", "Antony",
		"Courbevoie", "Rueil-Malmaison", "Levallois-Perret", "Clichy", "Issy-les-Moulineaux", "Châtillon"},
	"93": {"Saint-Denis", "Montreuil", "Bobigny", "Aulnay-sous-Bois", "Bondy", "Montfermeil", "Livry-Gargan",
		"Le Blanc-Mesnil", "Aubervilliers", "Noisy-le-Grand", "Villepinte", "Le Raincy", "Stains", "Pantin"},
	"94": {"Créteil", "Villejuif", "Vitry-sur-Seine", "Saint-Maur-des-Fossés", "Champigny-sur-Marne", "Ivry-sur-Seine",
		"Le Kremlin-Bicêtre", "Villeneuve-Saint-Georges", "Nogent-sur-Marne", "Choisy-le-Roi", "Maisons-Alfort", "Thiais"},
	"95": {"Cergy", "Pontoise", "Argenteuil", "Gonesse", "Eaubonne", "Montmorency", "Sarcelles", "Beaumont-sur-Oise",
		"Ermont", "Franconville", "Osny", "Taverny", "Saint-Ouen-l'Aumône"},
}

var saints = []string{"Saint-Joseph", "Sainte-Anne", "Saint-Vincent", "Saint-Michel", "Sainte-Marie", "Saint-Louis",
	"Sainte-Geneviève", "Saint-Martin", "Saint-Jean", "Sainte-Thérèse", "Saint-Camille", "Saint-Charles",
	"Sainte-Isabelle", "Saint-Côme", "Saint-Hilaire", "Sainte-Claire"}

// establishmentPatterns: %[1]s is "de <town>" with its elision, %[2]s a saint.
// Paris uses its quarters for towns and has no "centre hospitalier".
var establishmentPatterns = []struct {
	weight int
	paris  bool
	format string
}{
	{22, false, "Centre hospitalier %[1]s"},
	{6, false, "Centre hospitalier intercommunal %[1]s"},
	{12, true, "Hôpital privé %[1]s"},
	{10, true, "Clinique %[2]s"},
	{6, true, "Hôpital %[2]s"},
	{7, false, "Clinique %[1]s"},
	{6, false, "Polyclinique %[1]s"},
	{12, true, "Centre de dialyse %[1]s"},
	{6, true, "Centre de néphrologie %[1]s"},
	{5, true, "Maison de la dialyse %[1]s"},
	{4, true, "Association pour le traitement de l'insuffisance rénale %[1]s"},
}

// typeWeights: how often each of domain.DialysisTypes is among an
// establishment's units; most have a centre or a UDM.
var typeWeights = []int{30, 30, 25, 10, 8}

// unitNames are the names units of each type go by.
var unitNames = map[string][]string{
	"centre_lourd": {"Centre lourd", "Hémodialyse en centre", "Centre d'hémodialyse", "UC DIALYSE CENTRE LOURD"},
	"udm":          {"Unité de dialyse médicalisée", "UDM", "UC DIALYSE UDM"},
	"autodialyse":  {"Autodialyse", "Auto dialyse", "Unité d'autodialyse", "UC AUTODIALYSE"},
	"entrainement": {"Entraînement à la dialyse", "Entraînement DP et HDD", "Unité d'entraînement"},
	"domicile":     {"Dialyse à domicile", "Hémodialyse à domicile", "Dialyse péritonéale à domicile"},
}

// profile is how a unit of a type behaves: places installed, how many are
// usually free, whether its declarant also works on Saturdays.
type profile struct {
	minInstalled, maxInstalled int
	maxUsuallyFree             int
	saturday                   int // percent of units
}

var profiles = map[string]profile{
	"centre_lourd": {12, 32, 2, 60},
	"udm":          {6, 20, 2, 30},
	"autodialyse":  {6, 18, 3, 20},
	"entrainement": {2, 8, 2, 0},
	"domicile":     {4, 20, 4, 0},
}

// rateWeights: declarations a week, index 1 to 7. Most declarants update
// a few times a week; some daily.
var rateWeights = []int{0, 18, 24, 20, 12, 16, 5, 5}

// commentFormats: {places} is "1 place", "2 places"..., {date} a date
// dd/mm, {hour} an hour. Some only fit when places are free, some only
// when none is.
var commentFormats = []struct {
	free   int // 1: needs free places, -1: needs none, 0: either
	format string
}{
	{1, "{places} le {date} à {hour}h"},
	{1, "{places} le {date} à {hour}h, séance de l'après-midi"},
	{1, "{places} en repli pour patient vacancier à partir du {date}"},
	{-1, "Pas de place avant le {date}"},
	{0, "Séances du soir possibles à partir du {date}"},
	{0, "Contacter le cadre de santé avant tout adressage"},
	{0, "Capacité réduite jusqu'au {date} (travaux)"},
}

var closureReasons = []string{
	"Panne du traitement d'eau (osmoseur)",
	"Contamination du réseau d'eau : analyses en cours",
	"Dégât des eaux dans la salle de dialyse",
	"Travaux de mise aux normes électriques",
	"Manque de personnel infirmier",
	"Désinfection complète de l'unité",
}

var permanentClosureReasons = []string{
	"Fermeture définitive : activité regroupée sur le site principal",
	"Fermeture définitive de l'unité (autorisation non renouvelée)",
}
