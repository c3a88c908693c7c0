package fhir

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"dispo/projections"
)

// A site is what one Location describes: a unit's own places, or a pool's,
// shared by its units (the "lits mutualisés sur plusieurs UO").
type site struct {
	id    string                 // the Location's id
	pool  *projections.PoolView  // nil for a unit's own places
	units []projections.UnitView // the units whose places these are, by id
	caps  *capacities            // nil when nothing was ever declared, or retired
	local string                 // the local part of its idLocation
	upd   time.Time              // when anything it shows last changed
}

// capacities are a site's figures as national indicators.
type capacities struct {
	nature  string
	source  string // TRE_R335 code
	updated time.Time
	list    []indicator
}

type indicator struct {
	status  string
	n       int
	closing string // for closed places only
}

// directory is every resource of one fold, by id, rendered once: the
// live one serves every request until the log moves.
type directory struct {
	sites    []site
	services []projections.UnitView
	siteOf   map[string]int // unit id -> index in sites
	// The resources as JSON, by index in sites and services; and the
	// indexes by FHIR id.
	siteJSON, serviceJSON [][]byte
	siteByID, serviceByID map[string]int
}

// render writes every resource once. It runs outside the projections'
// lock: the directory holds copies.
func (d *directory) render() error {
	d.siteJSON, d.siteByID = make([][]byte, len(d.sites)), make(map[string]int, len(d.sites))
	for i := range d.sites {
		b, err := marshal(d.sites[i].location())
		if err != nil {
			return err
		}
		d.siteJSON[i], d.siteByID[d.sites[i].id] = b, i
	}
	d.serviceJSON, d.serviceByID = make([][]byte, len(d.services)), make(map[string]int, len(d.services))
	for i, u := range d.services {
		b, err := marshal(service(u, &d.sites[d.siteOf[u.ID]]))
		if err != nil {
			return err
		}
		d.serviceJSON[i], d.serviceByID[ServiceID(u.ID)] = b, i
	}
	return nil
}

// newDirectory lays out the resources of a: one HealthcareService per
// registered unit (retired ones stay, inactive), one Location per unit out
// of a pool and one per pool.
func newDirectory(a *projections.Availability) *directory {
	d := &directory{services: a.AllUnits(), siteOf: map[string]int{}}
	pools := map[string]int{}
	for _, u := range d.services {
		if u.Pool == nil {
			d.siteOf[u.ID] = len(d.sites)
			d.sites = append(d.sites, site{id: LocationID(u.ID), units: []projections.UnitView{u}, local: u.ID})
			continue
		}
		i, ok := pools[u.Pool.ID]
		if !ok {
			i = len(d.sites)
			pools[u.Pool.ID] = i
			id := PoolLocationID(u.Pool.ID)
			d.sites = append(d.sites, site{id: id, pool: u.Pool, local: id})
		}
		d.sites[i].units = append(d.sites[i].units, u)
		d.siteOf[u.ID] = i
	}
	for i := range d.sites {
		s := &d.sites[i]
		s.caps = s.capacities()
		for _, u := range s.units {
			s.upd = later(s.upd, u.UpdatedAt)
		}
		if s.pool != nil {
			s.upd = later(s.upd, s.pool.UpdatedAt) // a member that left changed it too
		}
	}
	// Ids sort the sites; the units' order gives positions in siteOf.
	order := make([]int, len(d.sites))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return cmp.Compare(d.sites[x].id, d.sites[y].id) })
	sorted := make([]site, len(d.sites))
	where := make([]int, len(d.sites))
	for to, from := range order {
		sorted[to], where[from] = d.sites[from], to
	}
	for u, i := range d.siteOf {
		d.siteOf[u] = where[i]
	}
	d.sites = sorted
	return d
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// capacities are the three indicators dispo keeps: available, installed
// and closed places. A closed unit has no place available and all its
// places closed, reactivable or not as its closure says; places closed by
// a declaration are of the closing type it gave, 03 Indéterminé when it
// gave none. A pool's closed places have one closing type if all its
// members' agree, else 03. None for a retired unit, or one that never
// declared.
func (s *site) capacities() *capacities {
	c := &capacities{nature: natureOf(s.units[0].Type)}
	var available, installed, closed int
	closing := ""
	anyOpen := false
	for _, u := range s.units {
		if u.Retired || u.LastDeclaredAt.IsZero() {
			continue
		}
		if u.LastDeclaredAt.After(c.updated) {
			c.updated, c.source = u.LastDeclaredAt, u.CapacitySource
		}
		installed += u.Installed
		own := closingOf(&u)
		switch {
		case closing == "":
			closing = own
		case closing != own:
			closing = closingUnknown
		}
		if u.Closure != nil {
			closed += u.Installed
			continue
		}
		anyOpen = true
		closed += u.ClosedPlaces
		if s.pool == nil {
			available = u.Available
		}
	}
	if c.updated.IsZero() {
		return nil
	}
	if s.pool != nil && anyOpen {
		available = s.pool.Available
	}
	if c.source == "" {
		c.source = "01"
	}
	c.list = []indicator{{status: statusAvailable, n: available}, {status: statusInstalled, n: installed},
		{status: statusClosed, n: closed, closing: closing}}
	return c
}

func (c *capacities) extensions() []Extension {
	out := make([]Extension, 0, len(c.list))
	for _, in := range c.list {
		sub := []Extension{
			{URL: "capacityType", ValueCodeableConcept: concept(sysCapacityType, c.nature, natureLabels[c.nature])},
			{URL: "capacityStatus", ValueCodeableConcept: concept(sysCapacityStatus, in.status, statusLabels[in.status])},
			{URL: "temporalityCapacity", ValueCodeableConcept: concept(sysTemporality, temporalityCurrent, temporalityLabels[temporalityCurrent])},
			{URL: "nbCapacity", ValueInteger: ptr(in.n)},
			{URL: "capacitySourceType", ValueCodeableConcept: concept(sysSourceType, c.source, sourceLabels[c.source])},
			{URL: "capacityUpdateDate", ValueDateTime: instant(c.updated)},
		}
		if in.closing != "" {
			sub = append(sub, Extension{URL: "capacityClosingType", ValueCodeableConcept: concept(sysClosingType, in.closing, closingLabels[in.closing])})
		}
		sub = append(sub, Extension{URL: "temporaryAssignement", ValueCodeableConcept: concept(sysAssignment, assignmentNone, assignmentLabels[assignmentNone])})
		out = append(out, Extension{URL: ExtCapacity, Extension: sub})
	}
	return out
}

func meta(profile string, updated time.Time) Meta {
	return Meta{LastUpdated: instant(updated), Profile: []string{profile}, Tag: []Coding{regionIDF}}
}

// location renders the site as a RORLocation.
func (s *site) location() *Location {
	first := s.units[0]
	l := &Location{ResourceType: "Location", ID: s.id, Meta: meta(ProfileLocation, s.upd), Status: "active", Mode: "instance"}
	commune := first.Commune
	if commune == "" {
		commune = "Commune non renseignée"
	}
	registered := first.RegisteredAt
	for _, u := range s.units {
		if u.RegisteredAt.Before(registered) {
			registered = u.RegisteredAt
		}
	}
	// The commune's national code (COG) is not in the directory: its name
	// is the concept's text.
	l.Extension = []Extension{{URL: extCommuneCog, ValueCodeableConcept: &CodeableConcept{Text: commune}}}
	if s.caps != nil {
		l.Extension = append(l.Extension, s.caps.extensions()...)
	}
	l.Extension = append(l.Extension, Extension{URL: extCreationDate, ValueDateTime: instant(registered)})
	l.Identifier = []Identifier{{Type: locationIDType, Value: regionCode + "/" + s.local}}
	if s.pool == nil && first.SyncID != "" {
		l.Identifier = append(l.Identifier, Identifier{Type: syncIDType, Value: idNatStruct(first.FINESS) + "/" + first.SyncID})
	}
	if s.pool == nil {
		l.Name = first.Name
		if first.Retired {
			l.Status = "inactive"
		}
		return l
	}
	names := make([]string, len(s.units))
	for i, u := range s.units {
		names[i] = u.Name
	}
	l.Name = "Places mutualisées : " + strings.Join(names, ", ")
	l.Description = "Places partagées par " + strings.Join(names, ", ") + " (lits mutualisés sur plusieurs UO)"
	return l
}

// service renders unit u, whose places are site s, as a RORHealthcareService.
func service(u projections.UnitView, s *site) *HealthcareService {
	o := offers[u.Type]
	h := &HealthcareService{ResourceType: "HealthcareService", ID: ServiceID(u.ID), Meta: meta(ProfileHealthcareService, u.UpdatedAt),
		Active: ptr(!u.Retired), Name: u.Name, Comment: u.Comment}
	h.Extension = []Extension{
		{URL: extCreationDate, ValueDateTime: instant(u.RegisteredAt)},
		{URL: extSensitiveUnit, ValueBoolean: ptr(false)},
		{URL: extPatientType, Extension: []Extension{{URL: "ageRange", ValueRange: &Range{Low: &Quantity{o.ageLow}, High: &Quantity{o.ageHigh}}}}},
	}
	h.Identifier = []Identifier{{Type: serviceIDType, Value: regionCode + "/" + u.ID}}
	h.ProvidedBy = &Reference{Identifier: &Identifier{Type: finessIDType, System: sysFINESS, Value: u.FINESS}, Display: u.Establishment}
	h.Type = []CodeableConcept{*concept(sysActivityField, o.field, o.fieldLabel)}
	h.Specialty = []CodeableConcept{*concept(sysActivity, o.activity, o.activityLabel)}
	h.Location = []Reference{{Reference: "Location/" + s.id}}
	h.Characteristic = []CodeableConcept{*concept(sysCareMode, o.mode, o.modeLabel)}
	if c := u.Closure; c != nil && !u.Retired {
		p := &Period{Start: instant(c.Start)}
		if !c.PlannedEnd.IsZero() {
			p.End = instant(c.PlannedEnd)
		}
		h.NotAvailable = []NotAvailable{{ID: closedPeriodID, Description: closedPeriodDetail, During: p}}
	}
	return h
}

// validID is what FHIR allows as a logical id: 1 to 64 of A-Z a-z 0-9 - .
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ServiceID is the HealthcareService id of a unit: its own id when FHIR
// allows it, else one derived from it (unit ids may hold "_").
func ServiceID(unitID string) string { return safeID("", unitID) }

// LocationID is the Location id of a unit's own places; PoolLocationID a
// pool's, derived from the pool's id alone so that it stays while members
// come and go. The prefixes keep the two apart.
func LocationID(unitID string) string     { return safeID("uo-", unitID) }
func PoolLocationID(poolID string) string { return safeID("pool-", poolID) }

func safeID(prefix, id string) string {
	if s := prefix + id; validID(s) {
		return s
	}
	sum := sha256.Sum256([]byte(id))
	return prefix + "h" + hex.EncodeToString(sum[:20])
}
