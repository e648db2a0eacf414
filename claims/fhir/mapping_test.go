package fhir

import (
	"slices"
	"testing"

	"github.com/trcledger/trcledger/claims/statements"
)

// Every reason code a reviewer can give has a display in the project's code system.
func TestReasonDisplayCoversReasonCodes(t *testing.T) {
	for _, code := range statements.ReasonCodes {
		if ReasonDisplay[code] == "" {
			t.Errorf("reason code %q has no display in %s", code, SystemReason)
		}
	}
	for code := range ReasonDisplay {
		if !slices.Contains(statements.ReasonCodes, code) {
			t.Errorf("%q is not a reason code", code)
		}
	}
}

func TestClaimType(t *testing.T) {
	for _, c := range []struct {
		categories []string
		want       string
	}{
		{[]string{"primary_care", "diagnostics"}, "professional"},
		{[]string{"dental", "dental"}, "oral"},
		{[]string{"dental", "primary_care"}, "professional"},
		{[]string{"specialist", "hospital"}, "institutional"},
		{nil, "professional"},
	} {
		if got := claimType(c.categories).Coding[0].Code; got != c.want {
			t.Errorf("claimType(%v) = %s, want %s", c.categories, got, c.want)
		}
	}
}

func TestIDs(t *testing.T) {
	for _, s := range []string{"DZ-BIHAC", "ZZO.USK", "a b", "ŽUPA", string(make([]byte, 70))} {
		if id := resourceID(s); !idPattern.MatchString(id) {
			t.Errorf("resourceID(%q) = %q, not a FHIR id", s, id)
		}
	}
	if resourceID("DZ-BIHAC") != "DZ-BIHAC" {
		t.Error("a valid code is not kept as the id")
	}
	if digest("a", "bc") == digest("ab", "c") {
		t.Error("digests of different parts collide")
	}
	if p := monthPeriod("2024-02"); p == nil || p.Start != "2024-02-01" || p.End != "2024-02-29" {
		t.Errorf("monthPeriod(2024-02) = %+v", p)
	}
}
