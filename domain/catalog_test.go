package domain_test

import (
	"testing"

	"dispo/domain"
)

func TestCatalog(t *testing.T) {
	codes := map[string]bool{}
	for _, ty := range domain.UnitTypes {
		if codes[ty.Code] {
			t.Errorf("unit type %q listed twice", ty.Code)
		}
		codes[ty.Code] = true
		if ty.Label == "" {
			t.Errorf("unit type %q has no label", ty.Code)
		}
		if _, ok := domain.LookupCategory(ty.Category); !ok {
			t.Errorf("unit type %q: unknown category %q", ty.Code, ty.Category)
		}
		got, ok := domain.LookupType(ty.Code)
		if !ok || got != ty {
			t.Errorf("LookupType(%q) = %v, %v, want %v, true", ty.Code, got, ok, ty)
		}
	}
	for _, c := range domain.Categories {
		if c.Counting != domain.Places && c.Counting != domain.Beds {
			t.Errorf("category %q counts %q", c.Code, c.Counting)
		}
		got, ok := domain.LookupCategory(c.Code)
		if !ok || got != c {
			t.Errorf("LookupCategory(%q) = %v, %v, want %v, true", c.Code, got, ok, c)
		}
	}
	dialyse, ok := domain.LookupCategory("dialyse")
	if !ok || dialyse.Counting != domain.Places {
		t.Errorf("dialyse category = %v, %v; want one counting places", dialyse, ok)
	}
	var dialysis []string
	for _, ty := range domain.UnitTypes {
		if ty.Category == "dialyse" {
			dialysis = append(dialysis, ty.Code)
		}
	}
	if len(dialysis) != len(domain.DialysisTypes) {
		t.Fatalf("catalog dialysis types %v, DialysisTypes %v", dialysis, domain.DialysisTypes)
	}
	for i := range dialysis {
		if dialysis[i] != domain.DialysisTypes[i] {
			t.Errorf("DialysisTypes[%d] = %q, want %q (catalog order)", i, domain.DialysisTypes[i], dialysis[i])
		}
	}
	for _, code := range []string{"", "UDM", "dialyse", "udm "} {
		if _, ok := domain.LookupType(code); ok {
			t.Errorf("LookupType(%q) found a type", code)
		}
	}
	if _, ok := domain.LookupCategory("udm"); ok {
		t.Error(`LookupCategory("udm") found a category`)
	}
}
