package access

import (
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
)

// The organizations of the tests: the encounter or statement is posted by provider P on payer Y.
const (
	ownProvider   = "P"
	otherProvider = "P2"
	ownPayer      = "Y"
	otherPayer    = "Y2"
)

// caller is one principal of the table: a role, bound to the object's organization ("own"), to
// another one ("other"), or to none (admin, finance).
type caller struct {
	name string
	p    Principal
}

func callers() []caller {
	return []caller{
		{"admin", Principal{Role: RoleAdmin}},
		{"finance", Principal{Role: RoleFinance}},
		{"clinic own", Principal{Role: RoleClinic, OrgCode: ownProvider}},
		{"clinic other", Principal{Role: RoleClinic, OrgCode: otherProvider}},
		{"reviewer own", Principal{Role: RoleReviewer, OrgCode: ownPayer}},
		{"reviewer other", Principal{Role: RoleReviewer, OrgCode: otherPayer}},
		{"clinic unbound", Principal{Role: RoleClinic}},
		{"reviewer unbound", Principal{Role: RoleReviewer}},
		{"unknown role", Principal{Role: "auditor", OrgCode: ownPayer}},
	}
}

// share is how the own payer takes part in the encounter.
type share struct {
	name        string
	basisPoints int
	amount      string
}

var shares = []share{
	{"share", 5000, "10.00"},
	{"zero bp share", 0, "0.01"}, // a rounding cent of a rule written before 0 bp was refused
	{"zero amount share", 1, "0.00"},
	{"no share", -1, ""},
}

// parties builds the encounter of provider P on which the own payer has the share s (the other
// payer always has a share that counts).
func parties(s share) Parties {
	e := Parties{Provider: ownProvider}
	if s.basisPoints >= 0 && ShareCounts(s.basisPoints, decimal.RequireFromString(s.amount)) {
		e.Payers = append(e.Payers, ownPayer)
	}
	e.Payers = append(e.Payers, "Y3")
	return e
}

func TestShareCounts(t *testing.T) {
	for _, tc := range []struct {
		bp     int
		amount string
		want   bool
	}{
		{5000, "10.00", true},
		{1, "0.01", true},
		{0, "0.01", false},
		{0, "0.00", false},
		{1, "0.00", false},
		{5000, "-1.00", false},
	} {
		if got := ShareCounts(tc.bp, decimal.RequireFromString(tc.amount)); got != tc.want {
			t.Errorf("ShareCounts(%d, %s) = %v, want %v", tc.bp, tc.amount, got, tc.want)
		}
	}
}

// TestEncounterRules: who sees an encounter and who sees its diagnoses, for every role, own or
// other organization, and every kind of share of the own payer.
func TestEncounterRules(t *testing.T) {
	type want struct{ see, diagnoses bool }
	for _, s := range shares {
		counts := s.name == "share"
		wants := map[string]want{
			"admin":            {true, false}, // admin sees the encounter, never its diagnoses
			"finance":          {false, false},
			"clinic own":       {true, true},
			"clinic other":     {false, false},
			"reviewer own":     {counts, counts},
			"reviewer other":   {false, false},
			"clinic unbound":   {false, false},
			"reviewer unbound": {false, false},
			"unknown role":     {false, false},
		}
		for _, c := range callers() {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				e, w := parties(s), wants[c.name]
				if got := CanSeeEncounter(c.p, e); got != w.see {
					t.Errorf("CanSeeEncounter = %v, want %v", got, w.see)
				}
				if got := CanSeeDiagnoses(c.p, e); got != w.diagnoses {
					t.Errorf("CanSeeDiagnoses = %v, want %v", got, w.diagnoses)
				}
				if w.diagnoses && !w.see {
					t.Errorf("diagnoses of an encounter one may not see")
				}
			})
		}
	}
}

// TestObjectRules: the rules on statements, contracts and encounters that depend on the
// object's provider or payer, for every role and own or other organization.
func TestObjectRules(t *testing.T) {
	rules := []struct {
		name string
		fn   func(Principal) bool
		who  []string // the callers allowed
	}{
		{"CanSeeStatement", func(p Principal) bool { return CanSeeStatement(p, ownProvider, ownPayer) },
			[]string{"admin", "finance", "clinic own", "reviewer own"}},
		{"CanSeeDecider", func(p Principal) bool { return CanSeeDecider(p, ownPayer) },
			[]string{"admin", "reviewer own"}},
		{"CanSubmitStatement", func(p Principal) bool { return CanSubmitStatement(p, ownProvider) },
			[]string{"finance", "clinic own"}},
		{"CanCancelStatement", func(p Principal) bool { return CanCancelStatement(p, ownProvider) },
			[]string{"finance", "clinic own"}},
		{"CanReviewStatement", func(p Principal) bool { return CanReviewStatement(p, ownPayer) },
			[]string{"reviewer own"}},
		{"CanBuildStatements", CanBuildStatements, []string{"admin", "finance"}},
		{"CanRecordPayments", CanRecordPayments, []string{"finance"}},
		{"CanReadContract", func(p Principal) bool { return CanReadContract(p, ownProvider) },
			[]string{"admin", "finance", "clinic own"}},
		{"CanPostEncounter", func(p Principal) bool { return CanPostEncounter(p, ownProvider) },
			[]string{"clinic own"}},
		{"CanVoidEncounter", func(p Principal) bool { return CanVoidEncounter(p, ownProvider) },
			[]string{"clinic own"}},
		{"ReportPayer", func(p Principal) bool { _, ok := ReportPayer(p); return ok },
			[]string{"admin", "finance", "reviewer own", "reviewer other"}},
	}
	for _, r := range rules {
		for _, c := range callers() {
			want := false
			for _, w := range r.who {
				want = want || w == c.name
			}
			if got := r.fn(c.p); got != want {
				t.Errorf("%s(%s) = %v, want %v", r.name, c.name, got, want)
			}
		}
	}
}

func TestReportPayer(t *testing.T) {
	for _, c := range callers() {
		payer, ok := ReportPayer(c.p)
		want := ""
		if c.p.Role == RoleReviewer {
			want = c.p.OrgCode
		}
		if ok && payer != want {
			t.Errorf("ReportPayer(%s) = %q, want %q", c.name, payer, want)
		}
	}
}

func TestInRoles(t *testing.T) {
	matrix := []string{RoleAdmin, RoleFinance}
	for _, c := range callers() {
		want := c.p.Role == RoleAdmin || c.p.Role == RoleFinance
		if got := InRoles(c.p, matrix); got != want {
			t.Errorf("InRoles(%s) = %v, want %v", c.name, got, want)
		}
	}
	if InRoles(Principal{}, matrix) || InRoles(Principal{Role: RoleAdmin}, nil) {
		t.Error("no role, or no roles listed, must not pass")
	}
}

// TestScopeNarrow: a list's provider and payer filters, confined to the caller's scope.
func TestScopeNarrow(t *testing.T) {
	type result struct {
		provider, payer string
		ok              bool
	}
	asked := []struct{ provider, payer string }{
		{"", ""}, {ownProvider, ""}, {otherProvider, ""}, {"", ownPayer}, {"", otherPayer},
	}
	wants := map[string][]result{
		"admin":            {{"", "", true}, {ownProvider, "", true}, {otherProvider, "", true}, {"", ownPayer, true}, {"", otherPayer, true}},
		"finance":          {{"", "", true}, {ownProvider, "", true}, {otherProvider, "", true}, {"", ownPayer, true}, {"", otherPayer, true}},
		"clinic own":       {{ownProvider, "", true}, {ownProvider, "", true}, {"", "", false}, {ownProvider, ownPayer, true}, {ownProvider, otherPayer, true}},
		"clinic other":     {{otherProvider, "", true}, {"", "", false}, {otherProvider, "", true}, {otherProvider, ownPayer, true}, {otherProvider, otherPayer, true}},
		"reviewer own":     {{"", ownPayer, true}, {ownProvider, ownPayer, true}, {otherProvider, ownPayer, true}, {"", ownPayer, true}, {"", "", false}},
		"reviewer other":   {{"", otherPayer, true}, {ownProvider, otherPayer, true}, {otherProvider, otherPayer, true}, {"", "", false}, {"", otherPayer, true}},
		"clinic unbound":   {{"", "", false}, {"", "", false}, {"", "", false}, {"", "", false}, {"", "", false}},
		"reviewer unbound": {{"", "", false}, {"", "", false}, {"", "", false}, {"", "", false}, {"", "", false}},
		"unknown role":     {{"", "", false}, {"", "", false}, {"", "", false}, {"", "", false}, {"", "", false}},
	}
	for _, c := range callers() {
		for i, a := range asked {
			var got result
			got.provider, got.payer, got.ok = ScopeOf(c.p).Narrow(a.provider, a.payer)
			if want := wants[c.name][i]; got != want {
				t.Errorf("%s asking %s: got %+v, want %+v", c.name, fmt.Sprint(a), got, want)
			}
		}
	}
}
