package fhir

import "encoding/json"

// The FHIR R4 data types this package emits, with only the elements it fills in.

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is one or more codings of one concept.
type CodeableConcept struct {
	Coding []Coding `json:"coding"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier in a namespace (system).
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Reference points at another resource, as "Type/id" relative to Base.
type Reference struct {
	Reference string `json:"reference"`
	Display   string `json:"display,omitempty"`
}

// Money is an amount in a currency; Value is a JSON number with the currency's decimals.
type Money struct {
	Value    json.Number `json:"value"`
	Currency string      `json:"currency"`
}

// Period is a range of dates, both inclusive.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Quantity is a SimpleQuantity: a number without a comparator.
type Quantity struct {
	Value json.Number `json:"value"`
}

// Organization is a provider or a payer.
type Organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Identifier   []Identifier      `json:"identifier"`
	Active       bool              `json:"active"`
	Type         []CodeableConcept `json:"type,omitempty"`
	Name         string            `json:"name"`
}

// Patient is pseudonymous: its id and only identifier are the patient_key.
type Patient struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []Identifier `json:"identifier"`
}

// Coverage says that a payer pays for a patient's care under the transition schedule.
type Coverage struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	Status       string      `json:"status"`
	Beneficiary  Reference   `json:"beneficiary"`
	Payor        []Reference `json:"payor"`
}

// Claim is one encounter's lines as claimed from one payer on one statement.
type Claim struct {
	ResourceType   string           `json:"resourceType"`
	ID             string           `json:"id"`
	Identifier     []Identifier     `json:"identifier"`
	Status         string           `json:"status"`
	Type           CodeableConcept  `json:"type"`
	Use            string           `json:"use"`
	Patient        Reference        `json:"patient"`
	BillablePeriod *Period          `json:"billablePeriod,omitempty"`
	Created        string           `json:"created"`
	Insurer        Reference        `json:"insurer"`
	Provider       Reference        `json:"provider"`
	Priority       CodeableConcept  `json:"priority"`
	Diagnosis      []Diagnosis      `json:"diagnosis,omitempty"`
	Insurance      []ClaimInsurance `json:"insurance"`
	Item           []ClaimItem      `json:"item"`
	Total          Money            `json:"total"`
}

// Diagnosis is an ICD-10 code of a Claim or an ExplanationOfBenefit.
type Diagnosis struct {
	Sequence                 int             `json:"sequence"`
	DiagnosisCodeableConcept CodeableConcept `json:"diagnosisCodeableConcept"`
}

// ClaimInsurance names the Coverage a Claim is made under.
type ClaimInsurance struct {
	Sequence int       `json:"sequence"`
	Focal    bool      `json:"focal"`
	Coverage Reference `json:"coverage"`
}

// ClaimItem is one statement line: the payer's share of one encounter line.
type ClaimItem struct {
	Sequence                int              `json:"sequence"`
	DiagnosisSequence       []int            `json:"diagnosisSequence,omitempty"`
	ProductOrService        CodeableConcept  `json:"productOrService"`
	ServicedDate            string           `json:"servicedDate"`
	LocationCodeableConcept *CodeableConcept `json:"locationCodeableConcept,omitempty"`
	Quantity                *Quantity        `json:"quantity,omitempty"`
	Net                     Money            `json:"net"`
}

// ClaimResponse is the payer's review of a Claim.
type ClaimResponse struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	Type         CodeableConcept `json:"type"`
	Use          string          `json:"use"`
	Patient      Reference       `json:"patient"`
	Created      string          `json:"created"`
	Insurer      Reference       `json:"insurer"`
	Requestor    Reference       `json:"requestor"`
	Request      Reference       `json:"request"`
	Outcome      string          `json:"outcome"`
	Disposition  string          `json:"disposition,omitempty"`
	Item         []ResponseItem  `json:"item"`
	Total        []Total         `json:"total"`
}

// ResponseItem adjudicates one Claim item.
type ResponseItem struct {
	ItemSequence int            `json:"itemSequence"`
	Adjudication []Adjudication `json:"adjudication"`
}

// Adjudication is one amount of an adjudicated item: submitted, or benefit with the reason of
// a rejection or an adjustment.
type Adjudication struct {
	Category CodeableConcept  `json:"category"`
	Reason   *CodeableConcept `json:"reason,omitempty"`
	Amount   Money            `json:"amount"`
}

// Total is a total of a ClaimResponse or an ExplanationOfBenefit by adjudication category.
type Total struct {
	Category CodeableConcept `json:"category"`
	Amount   Money           `json:"amount"`
}

// ExplanationOfBenefit is a Claim and its ClaimResponse in one resource.
type ExplanationOfBenefit struct {
	ResourceType   string          `json:"resourceType"`
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	Type           CodeableConcept `json:"type"`
	Use            string          `json:"use"`
	Patient        Reference       `json:"patient"`
	BillablePeriod *Period         `json:"billablePeriod,omitempty"`
	Created        string          `json:"created"`
	Insurer        Reference       `json:"insurer"`
	Provider       Reference       `json:"provider"`
	Claim          Reference       `json:"claim"`
	ClaimResponse  Reference       `json:"claimResponse"`
	Outcome        string          `json:"outcome"`
	Disposition    string          `json:"disposition,omitempty"`
	Diagnosis      []Diagnosis     `json:"diagnosis,omitempty"`
	Insurance      []EOBInsurance  `json:"insurance"`
	Item           []EOBItem       `json:"item"`
	Total          []Total         `json:"total"`
}

// EOBInsurance names the Coverage of an ExplanationOfBenefit.
type EOBInsurance struct {
	Focal    bool      `json:"focal"`
	Coverage Reference `json:"coverage"`
}

// EOBItem is a Claim item with its adjudication.
type EOBItem struct {
	Sequence                int              `json:"sequence"`
	DiagnosisSequence       []int            `json:"diagnosisSequence,omitempty"`
	ProductOrService        CodeableConcept  `json:"productOrService"`
	ServicedDate            string           `json:"servicedDate"`
	LocationCodeableConcept *CodeableConcept `json:"locationCodeableConcept,omitempty"`
	Quantity                *Quantity        `json:"quantity,omitempty"`
	Net                     Money            `json:"net"`
	Adjudication            []Adjudication   `json:"adjudication"`
}

// PaymentReconciliation is one payment against a statement.
type PaymentReconciliation struct {
	ResourceType      string          `json:"resourceType"`
	ID                string          `json:"id"`
	Identifier        []Identifier    `json:"identifier"`
	Status            string          `json:"status"`
	Period            *Period         `json:"period,omitempty"`
	Created           string          `json:"created"`
	PaymentIssuer     Reference       `json:"paymentIssuer"`
	Outcome           string          `json:"outcome"`
	Disposition       string          `json:"disposition,omitempty"`
	PaymentDate       string          `json:"paymentDate"`
	PaymentAmount     Money           `json:"paymentAmount"`
	PaymentIdentifier *Identifier     `json:"paymentIdentifier,omitempty"`
	Detail            []PaymentDetail `json:"detail"`
}

// PaymentDetail is the payment as paid to the provider.
type PaymentDetail struct {
	Type   CodeableConcept `json:"type"`
	Payee  Reference       `json:"payee"`
	Date   string          `json:"date"`
	Amount Money           `json:"amount"`
}
