package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
)

// Base is the namespace of the project's resources, code systems and identifier systems. It is
// a stable name, not a server: the fullUrl of a bundle entry is Base + "Type/id".
const Base = "https://trcledger.example/fhir/"

// The project's own code systems and identifier systems (docs/fhir.md).
const (
	SystemService        = Base + "CodeSystem/service"
	SystemReason         = Base + "CodeSystem/adjudication-reason"
	SystemSite           = Base + "CodeSystem/site"
	SystemOrganization   = Base + "sid/organization"
	SystemPatientKey     = Base + "sid/patient-key"
	SystemEncounter      = Base + "sid/encounter"
	SystemStatement      = Base + "sid/statement"
	SystemPayment        = Base + "sid/payment"
	SystemPaymentRef     = Base + "sid/payment-reference"
	SystemICD10          = "http://hl7.org/fhir/sid/icd-10"
	SystemClaimType      = "http://terminology.hl7.org/CodeSystem/claim-type"
	SystemPriority       = "http://terminology.hl7.org/CodeSystem/processpriority"
	SystemAdjudication   = "http://terminology.hl7.org/CodeSystem/adjudication"
	SystemPaymentType    = "http://terminology.hl7.org/CodeSystem/payment-type"
	SystemOrganizationTy = "http://terminology.hl7.org/CodeSystem/organization-type"
)

// Currency is the currency of every amount (DESIGN.md section 3).
const Currency = "BAM"

// ReasonDisplay names each reason code of statements.ReasonCodes in the project's
// adjudication-reason code system.
var ReasonDisplay = map[string]string{
	"duplicate":             "Duplicate of a line already claimed",
	"not_covered":           "Service not covered by the contract",
	"missing_referral":      "Referral missing",
	"not_eligible":          "Patient not eligible",
	"tariff_error":          "Price does not match the tariff",
	"quantity_exceeded":     "Quantity above the tariff's limit",
	"documentation_missing": "Documentation missing",
	"other":                 "Other (see the reviewer's note)",
}

// reviewed reports whether a statement's review is complete, so that its decisions are final.
func reviewed(st *statements.Statement) bool {
	switch st.Status {
	case statements.StatusReviewed, statements.StatusPartiallyPaid, statements.StatusPaid:
		return true
	}
	return false
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// resourceID is s when it is a valid FHIR id, else a digest of it.
func resourceID(s string) string {
	if idPattern.MatchString(s) {
		return s
	}
	return digestID("h", s)
}

// digest is 32 hex digits of the SHA-256 of parts (each length-prefixed, so that no two
// lists of parts collide by concatenation).
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// digestID is prefix-digest(parts): a stable id of at most 64 characters for something the
// data names by several keys.
func digestID(prefix string, parts ...string) string { return prefix + "-" + digest(parts...) }

func ref(resourceType, id string) Reference { return Reference{Reference: resourceType + "/" + id} }

func money(d decimal.Decimal) Money {
	return Money{Value: json.Number(d.StringFixed(2)), Currency: Currency}
}

func concept(system, code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: system, Code: code, Display: display}}}
}

func instant(t trcledger.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// monthPeriod is the first and last day of a YYYY-MM month.
func monthPeriod(period string) *Period {
	start, err := time.Parse("2006-01", period)
	if err != nil {
		return nil
	}
	return &Period{Start: start.Format(time.DateOnly), End: start.AddDate(0, 1, -1).Format(time.DateOnly)}
}

// OrganizationOf maps a provider or payer.
func OrganizationOf(o *contracts.Organization) *Organization {
	typ := "prov"
	if o.Kind == "payer" {
		typ = "pay"
		if o.PayerType != nil && *o.PayerType == "government" {
			typ = "govt"
		}
	}
	display := map[string]string{"prov": "Healthcare Provider", "pay": "Payer", "govt": "Government"}[typ]
	return &Organization{ResourceType: "Organization", ID: resourceID(o.Code),
		Identifier: []Identifier{{System: SystemOrganization, Value: o.Code}}, Active: true,
		Type: []CodeableConcept{concept(SystemOrganizationTy, typ, display)}, Name: o.Name}
}

// PatientOf is the pseudonymous patient of a patient_key.
func PatientOf(patientKey string) *Patient {
	return &Patient{ResourceType: "Patient", ID: resourceID(patientKey), Identifier: []Identifier{{System: SystemPatientKey, Value: patientKey}}}
}

// CoverageOf says that payer covers the patient.
func CoverageOf(payer, patientKey string) *Coverage {
	return &Coverage{ResourceType: "Coverage", ID: digestID("cov", payer, patientKey), Status: "active",
		Beneficiary: ref("Patient", resourceID(patientKey)), Payor: []Reference{ref("Organization", resourceID(payer))}}
}

// claimType is the HL7 claim type of an encounter's services: institutional for a hospital
// case, oral when every service is dental, else professional.
func claimType(categories []string) CodeableConcept {
	switch {
	case slices.Contains(categories, "hospital"):
		return concept(SystemClaimType, "institutional", "Institutional")
	case len(categories) > 0 && !slices.ContainsFunc(categories, func(c string) bool { return c != "dental" }):
		return concept(SystemClaimType, "oral", "Oral")
	}
	return concept(SystemClaimType, "professional", "Professional")
}

// claimStatus is the Claim status of a statement's state.
func claimStatus(st *statements.Statement) string {
	switch st.Status {
	case statements.StatusDraft:
		return "draft"
	case statements.StatusCancelled:
		return "cancelled"
	}
	return "active"
}

// benefit is what the payer approved of a decided line: the approved amount, or the claimed
// one for an approval without it, nothing for a rejection.
func benefit(l *statements.StatementLine) decimal.Decimal {
	switch {
	case l.Decision != nil && *l.Decision == "reject":
		return decimal.Zero
	case l.ApprovedAmount != nil:
		return l.ApprovedAmount.Decimal
	}
	return l.Amount.Decimal
}

// claimGroup is the lines of one encounter on one statement: one Claim.
type claimGroup struct {
	key        string // claim-<key>, cr-<key> and eob-<key> are the ids of its resources
	encounter  string
	patientKey string
	lines      []statements.StatementLine
}

// catalogue looks up a service of the catalogue by code.
type catalogue map[string]contracts.Service

// claimResources maps one encounter's lines on st to its Claim, and after review its
// ClaimResponse and ExplanationOfBenefit (nil before).
func claimResources(st *statements.Statement, g *claimGroup, services catalogue) (*Claim, *ClaimResponse, *ExplanationOfBenefit) {
	patient := ref("Patient", resourceID(g.patientKey))
	provider, insurer := ref("Organization", resourceID(st.ProviderCode)), ref("Organization", resourceID(st.PayerCode))
	coverage := ref("Coverage", digestID("cov", st.PayerCode, g.patientKey))
	created := st.CreatedAt
	if st.SubmittedAt != nil {
		created = *st.SubmittedAt
	}
	var diagnoses []Diagnosis
	var categories []string
	for _, l := range g.lines {
		for _, code := range l.Diagnoses {
			if !slices.ContainsFunc(diagnoses, func(d Diagnosis) bool { return d.DiagnosisCodeableConcept.Coding[0].Code == code }) {
				diagnoses = append(diagnoses, Diagnosis{Sequence: len(diagnoses) + 1, DiagnosisCodeableConcept: concept(SystemICD10, code, "")})
			}
		}
		categories = append(categories, services[l.ServiceCode].Category)
	}
	var diagSeq []int
	for _, d := range diagnoses {
		diagSeq = append(diagSeq, d.Sequence)
	}
	typ := claimType(categories)
	claim := &Claim{ResourceType: "Claim", ID: "claim-" + g.key,
		Identifier: []Identifier{{System: SystemEncounter, Value: g.encounter}},
		Status:     claimStatus(st), Type: typ, Use: "claim", Patient: patient, BillablePeriod: monthPeriod(st.Period),
		Created: instant(created), Insurer: insurer, Provider: provider,
		Priority:  concept(SystemPriority, "normal", "Normal"),
		Diagnosis: diagnoses,
		Insurance: []ClaimInsurance{{Sequence: 1, Focal: true, Coverage: coverage}}}
	var submitted, approved decimal.Decimal
	var items []EOBItem
	var adjudicated []ResponseItem
	rejected, adjusted := 0, 0
	for i, l := range g.lines {
		product := concept(SystemService, l.ServiceCode, services[l.ServiceCode].Name)
		site := concept(SystemSite, l.SiteCode, "")
		item := ClaimItem{Sequence: i + 1, DiagnosisSequence: diagSeq, ProductOrService: product,
			ServicedDate: l.ServiceDate.String(), LocationCodeableConcept: &site,
			Quantity: &Quantity{Value: json.Number(l.Quantity.String())}, Net: money(l.Amount.Decimal)}
		claim.Item = append(claim.Item, item)
		submitted = submitted.Add(l.Amount.Decimal)
		if !reviewed(st) {
			continue
		}
		b := benefit(&l)
		approved = approved.Add(b)
		ben := Adjudication{Category: concept(SystemAdjudication, "benefit", "Benefit Amount"), Amount: money(b)}
		if l.ReasonCode != nil {
			ben.Reason = &CodeableConcept{Coding: []Coding{{System: SystemReason, Code: *l.ReasonCode, Display: ReasonDisplay[*l.ReasonCode]}}}
		}
		if l.Decision != nil && *l.Decision == "reject" {
			rejected++
		} else if b.LessThan(l.Amount.Decimal) {
			adjusted++
		}
		adj := []Adjudication{{Category: concept(SystemAdjudication, "submitted", "Submitted Amount"), Amount: money(l.Amount.Decimal)}, ben}
		adjudicated = append(adjudicated, ResponseItem{ItemSequence: i + 1, Adjudication: adj})
		items = append(items, EOBItem{Sequence: item.Sequence, DiagnosisSequence: item.DiagnosisSequence, ProductOrService: item.ProductOrService,
			ServicedDate: item.ServicedDate, LocationCodeableConcept: item.LocationCodeableConcept, Quantity: item.Quantity, Net: item.Net, Adjudication: adj})
	}
	claim.Total = money(submitted)
	if !reviewed(st) {
		return claim, nil, nil
	}
	disposition := "approved"
	switch {
	case rejected == len(g.lines):
		disposition = "rejected"
	case rejected > 0 || adjusted > 0:
		disposition = "partly approved"
	}
	totals := []Total{
		{Category: concept(SystemAdjudication, "submitted", "Submitted Amount"), Amount: money(submitted)},
		{Category: concept(SystemAdjudication, "benefit", "Benefit Amount"), Amount: money(approved)},
	}
	reviewedAt := created
	if st.ReviewedAt != nil {
		reviewedAt = *st.ReviewedAt
	}
	resp := &ClaimResponse{ResourceType: "ClaimResponse", ID: "cr-" + g.key, Status: "active", Type: typ, Use: "claim",
		Patient: patient, Created: instant(reviewedAt), Insurer: insurer, Requestor: provider, Request: ref("Claim", claim.ID),
		Outcome: "complete", Disposition: disposition, Item: adjudicated, Total: totals}
	eob := &ExplanationOfBenefit{ResourceType: "ExplanationOfBenefit", ID: "eob-" + g.key, Status: "active", Type: typ, Use: "claim",
		Patient: patient, BillablePeriod: claim.BillablePeriod, Created: instant(reviewedAt), Insurer: insurer, Provider: provider,
		Claim: ref("Claim", claim.ID), ClaimResponse: ref("ClaimResponse", resp.ID), Outcome: "complete", Disposition: disposition,
		Diagnosis: diagnoses, Insurance: []EOBInsurance{{Focal: true, Coverage: coverage}}, Item: items, Total: totals}
	return claim, resp, eob
}

// PaymentOf maps a payment against st.
func PaymentOf(st *statements.Statement, p *statements.Payment) *PaymentReconciliation {
	return &PaymentReconciliation{ResourceType: "PaymentReconciliation", ID: resourceID("pay-" + p.ID),
		Identifier: []Identifier{{System: SystemPayment, Value: p.ID}, {System: SystemStatement, Value: st.Number}},
		Status:     "active", Period: monthPeriod(st.Period), Created: instant(p.CreatedAt),
		PaymentIssuer: ref("Organization", resourceID(st.PayerCode)), Outcome: "complete",
		Disposition: "Payment against statement " + st.Number, PaymentDate: p.PaidOn.String(), PaymentAmount: money(p.Amount.Decimal),
		PaymentIdentifier: &Identifier{System: SystemPaymentRef, Value: p.Reference},
		Detail: []PaymentDetail{{Type: concept(SystemPaymentType, "payment", "Payment"), Payee: ref("Organization", resourceID(st.ProviderCode)),
			Date: p.PaidOn.String(), Amount: money(p.Amount.Decimal)}}}
}
