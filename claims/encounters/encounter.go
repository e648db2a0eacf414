package encounters

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
)

// Enumerations of DESIGN.md section 2.
var (
	EncounterKinds   = []string{"consultation", "referral", "emergency", "follow_up", "transport", "other"}
	ReferralLevels   = []string{"secondary", "tertiary"}
	Sexes            = []string{"F", "M", "X"}
	kindsNeedingDiag = []string{"consultation", "referral", "emergency"}
)

// Referral sends the patient on to secondary or tertiary care.
type Referral struct {
	Number         string  `json:"number"`
	ToLevel        string  `json:"to_level"`
	ToProviderCode *string `json:"to_provider_code"`
}

// LineInput is one service given in an encounter.
type LineInput struct {
	ServiceCode string
	Quantity    decimal.Decimal
}

// EncounterInput is an encounter as a clinic sends it, with the raw patient id, which never
// goes further than the pseudonymisation in this package.
type EncounterInput struct {
	ContractCode        string
	SiteCode            string
	ExternalID          string
	PatientID           string
	BeneficiaryCategory string
	Sex                 *string
	BirthYear           *int
	ServiceDate         trcledger.Date
	Kind                string
	Diagnoses           []string
	Referral            *Referral
	PractitionerRef     *string
	Corrects            *string
	Lines               []LineInput
	// CapturedAt is when the clinic's device captured the encounter (an offline capture is
	// sent later); nil when the client does not say.
	CapturedAt *time.Time
}

// Encounter is a posted (or voided) encounter with its priced lines. Diagnoses and Referral are
// nil for callers who may not see clinical data.
type Encounter struct {
	ID                  string                 `json:"id"`
	ExternalID          string                 `json:"external_id"`
	ContractCode        string                 `json:"contract_code"`
	ProviderCode        string                 `json:"provider_code"`
	SiteCode            string                 `json:"site_code"`
	PatientKey          string                 `json:"patient_key"`
	BeneficiaryCategory string                 `json:"beneficiary_category"`
	Sex                 *string                `json:"sex"`
	BirthYear           *int                   `json:"birth_year"`
	ServiceDate         trcledger.Date         `json:"service_date"`
	Kind                string                 `json:"kind"`
	Status              string                 `json:"status"`
	Currency            string                 `json:"currency"`
	Total               trcledger.Amount       `json:"total"`
	Lines               []contracts.PricedLine `json:"lines"`
	Diagnoses           []string               `json:"diagnoses,omitempty"`
	Referral            *Referral              `json:"referral,omitempty"`
	PractitionerRef     *string                `json:"practitioner_ref"`
	Corrects            *string                `json:"corrects"`
	LedgerTransactionID int64                  `json:"ledger_transaction_id"`
	CreatedAt           trcledger.Time         `json:"created_at"`
	VoidedAt            *trcledger.Time        `json:"voided_at"`
	VoidReason          *string                `json:"void_reason"`
	CapturedAt          *trcledger.Time        `json:"captured_at"`

	contractID  int64
	contractRev time.Time // the contract's updated_at when its pricing was read
	contentHash []byte
	// effectiveDate is the date of its posting transaction: the service date, or, for the
	// correction of an encounter of a closed month, the first day of the first open month.
	effectiveDate trcledger.Date
	revision      int                       // the live revision of its lines and shares (repricing adds one)
	uncapped      [][]contracts.ShareAmount // the shares as split, while caps have routed some (caps.go)
}

// parties returns the organizations the encounter concerns for access: its provider and the
// payers with a share in a line that counts (access.ShareCounts).
func (e *Encounter) parties() access.Parties {
	out := access.Parties{Provider: e.ProviderCode}
	for _, l := range e.Lines {
		for _, s := range l.Shares {
			if access.ShareCounts(s.BasisPoints, s.Amount.Decimal) && !slices.Contains(out.Payers, s.PayerCode) {
				out.Payers = append(out.Payers, s.PayerCode)
			}
		}
	}
	return out
}
