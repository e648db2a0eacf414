package access

import (
	"slices"

	"github.com/shopspring/decimal"
)

// The access rules, in one place. Each predicate names the rule of DESIGN.md (section 1: the
// roles and what they must never see; section 7: scope and diagnoses) or of
// docs/access-and-privacy.md that it implements. Services ask these predicates and never compare
// roles themselves; the route table (api/routes.go) lists which roles may call each route, and
// InRoles applies it. A predicate takes the principal and plain values of the object (its
// provider, its payer, the payers with a share that counts), never a claims or contracts type:
// internal/access imports neither.
//
// Who is bound to what: clinic staff to one provider, a reviewer to one payer (OrgCode); admin
// and finance to no organization.

// InRoles reports whether p's role is one of roles: the access matrix of the route table (a
// route lists the roles that may call it; any other role is answered 403).
func InRoles(p Principal, roles []string) bool {
	return slices.Contains(roles, p.Role)
}

// IsClinicOf reports whether p is clinic staff of the provider.
func (p Principal) IsClinicOf(provider string) bool {
	return p.Role == RoleClinic && p.OrgCode == provider
}

// IsReviewerOf reports whether p is a reviewer of the payer.
func (p Principal) IsReviewerOf(payer string) bool {
	return p.Role == RoleReviewer && p.OrgCode == payer
}

// ShareCounts reports whether a payer's share of a line makes the payer a party to it: more than
// 0 basis points and more than 0.00. A payer listed at 0 basis points (a rule written before
// they were refused) or whose part rounds to 0.00 pays nothing, reviews nothing and sees nothing
// (docs/access-and-privacy.md, "A share of 0 is no share"). SQL that scopes by payer applies the
// same test on line_shares (claims.shareCostsSQL).
func ShareCounts(basisPoints int, amount decimal.Decimal) bool {
	return basisPoints > 0 && amount.IsPositive()
}

// Parties are the organizations an encounter, or one line of it, concerns for access: the
// provider that posted it and the payers whose share counts (ShareCounts; a payer may be listed
// more than once).
type Parties struct {
	Provider string
	Payers   []string
}

// isParty reports whether p is clinic staff of the provider or a reviewer of one of the payers.
func (e Parties) isParty(p Principal) bool {
	if p.IsClinicOf(e.Provider) {
		return true
	}
	return p.Role == RoleReviewer && p.OrgCode != "" && slices.Contains(e.Payers, p.OrgCode)
}

// CanSeeEncounter reports whether p may read an encounter at all: the clinic of its provider, a
// reviewer of a payer with a share that counts, and admin. Anyone else is answered 404, as for an
// unknown id (DESIGN.md section 7: "an object outside the caller's scope answers 404"; section 1:
// clinics never see another institution's data).
func CanSeeEncounter(p Principal, e Parties) bool {
	return p.Role == RoleAdmin || e.isParty(p)
}

// CanSeeDiagnoses reports whether p may see the clinical data of an encounter or of a statement
// line (diagnoses and referral): only the clinic of the posting provider and the reviewers of a
// payer with a share in it that counts; never admin or finance (DESIGN.md section 7: "Diagnoses
// are returned only to the posting provider's clinic staff and to the reviewers of a payer that
// has a share in the line"; section 1: finance never sees clinical data).
func CanSeeDiagnoses(p Principal, e Parties) bool {
	return e.isParty(p)
}

// CanPostEncounter reports whether p may post (one, a batch, or an import) on a contract of the
// provider: only its clinic staff. A contract of another provider is answered "unknown contract"
// as a code that does not exist (DESIGN.md section 1; docs/access-and-privacy.md, "Refusals").
func CanPostEncounter(p Principal, provider string) bool {
	return p.IsClinicOf(provider)
}

// CanVoidEncounter reports whether p may void an encounter of the provider: only its clinic
// staff ("void their own mistakes", DESIGN.md section 1); anyone else is answered 404.
func CanVoidEncounter(p Principal, provider string) bool {
	return p.IsClinicOf(provider)
}

// CanSeeStatement reports whether p may read a statement of the provider on the payer: the
// provider's clinic, the payer's reviewers, finance and admin. Anyone else is answered 404
// (DESIGN.md section 1: reviewers never see other payers' statements, clinics another
// institution's; section 7).
func CanSeeStatement(p Principal, provider, payer string) bool {
	switch p.Role {
	case RoleAdmin, RoleFinance:
		return true
	}
	return p.IsClinicOf(provider) || p.IsReviewerOf(payer)
}

// CanSeeDecider reports whether p may see who decided the lines of a statement on the payer
// (decided_by, the reviewer's token name and id): admin and the payer's reviewers; the provider's
// clinic and finance get null (docs/access-and-privacy.md, "Who decided a line").
func CanSeeDecider(p Principal, payer string) bool {
	return p.Role == RoleAdmin || p.IsReviewerOf(payer)
}

// CanBuildStatements reports whether p may build (or refresh) statements: finance and admin
// (DESIGN.md section 5).
func CanBuildStatements(p Principal) bool {
	return p.Role == RoleFinance || p.Role == RoleAdmin
}

// CanSubmitStatement reports whether p may submit a statement of the provider: the provider's
// clinic and finance (DESIGN.md section 5; route POST /v1/statements/{id}/submit).
func CanSubmitStatement(p Principal, provider string) bool {
	return p.Role == RoleFinance || p.IsClinicOf(provider)
}

// CanCancelStatement reports whether p may cancel a draft statement of the provider: the same
// parties as CanSubmitStatement, the provider's clinic and finance.
func CanCancelStatement(p Principal, provider string) bool {
	return CanSubmitStatement(p, provider)
}

// CanReviewStatement reports whether p may decide the lines of a statement on the payer and
// complete its review: only the payer's reviewers (DESIGN.md section 5: "the payer's reviewer
// decides every line"; section 1).
func CanReviewStatement(p Principal, payer string) bool {
	return p.IsReviewerOf(payer)
}

// CanRecordPayments reports whether p may record a payment against a statement: finance only
// (DESIGN.md section 5: "Payments (finance)").
func CanRecordPayments(p Principal) bool {
	return p.Role == RoleFinance
}

// CanReadContract reports whether p may read a contract of the provider (the contract, its
// tariffs, its cost-share rules, a quote on it): admin, finance and the provider's own clinic.
// Anyone else is answered 404 (DESIGN.md section 7; route GET /v1/contracts/{code}, "clinic: own
// provider").
func CanReadContract(p Principal, provider string) bool {
	switch p.Role {
	case RoleAdmin, RoleFinance:
		return true
	}
	return p.IsClinicOf(provider)
}

// ReportPayer returns the payer p's reports (transition, reconciliation) are confined to: ""
// (every payer) for finance and admin, the bound payer for a reviewer, who sees that payer's
// part of the cost only (docs/access-and-privacy.md, "Different callers"). ok is false for
// clinic staff and for a reviewer bound to no payer: reports are not theirs.
func ReportPayer(p Principal) (payer string, ok bool) {
	switch {
	case p.Role == RoleAdmin || p.Role == RoleFinance:
		return "", true
	case p.Role == RoleReviewer && p.OrgCode != "":
		return p.OrgCode, true
	}
	return "", false
}

// Scope is the organization a caller's lists are confined to: clinic staff to their provider, a
// reviewer to their payer; admin and finance to neither (the route table decides what they may
// list). Lists are filtered to the scope rather than refused (docs/access-and-privacy.md).
type Scope struct {
	Provider string // clinic staff: the provider they work for
	Payer    string // a reviewer: the payer they review for
	bound    bool   // confined, even without an organization: clinic staff, a reviewer, an unknown role
}

// ScopeOf returns the scope of p: the one place SQL filters take the caller's provider or payer
// from.
func ScopeOf(p Principal) Scope {
	switch p.Role {
	case RoleClinic:
		return Scope{Provider: p.OrgCode, bound: true}
	case RoleReviewer:
		return Scope{Payer: p.OrgCode, bound: true}
	case RoleAdmin, RoleFinance:
		return Scope{}
	}
	return Scope{bound: true} // a role this code does not know lists nothing
}

// Narrow confines a list's provider and payer filters ("" matches everything) to the scope: it
// returns the filters to apply, and false when the answer is empty because the caller asked for
// another organization than their own (or is bound to none).
func (s Scope) Narrow(provider, payer string) (string, string, bool) {
	if !s.bound {
		return provider, payer, true
	}
	if s.Provider == "" && s.Payer == "" {
		return "", "", false
	}
	if s.Provider != "" {
		if provider != "" && provider != s.Provider {
			return "", "", false
		}
		provider = s.Provider
	}
	if s.Payer != "" {
		if payer != "" && payer != s.Payer {
			return "", "", false
		}
		payer = s.Payer
	}
	return provider, payer, true
}
