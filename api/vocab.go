package api

import (
	"slices"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/trcledger/trcledger"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
)

// vocabularies names every enumeration the API takes or returns. The values are the Go
// declarations of the domain packages, never copies: the validator's `vocab=NAME` tag, the
// OpenAPI enums and the test against the SQL CHECK constraints all read them from here.
var vocabularies = map[string][]string{
	"role":                 access.Roles,
	"locale":               access.Locales,
	"organization_kind":    contracts.OrganizationKinds,
	"payer_type":           contracts.PayerTypes,
	"level":                contracts.ProviderLevels,
	"site_kind":            contracts.SiteKinds,
	"category":             contracts.ServiceCategories,
	"unit":                 contracts.ServiceUnits,
	"contract_status":      contracts.ContractStatuses,
	"beneficiary_category": contracts.BeneficiaryCategories,
	"method":               contracts.TariffMethods,
	"currency":             contracts.Currencies,
	"kind":                 encounters.EncounterKinds,
	"to_level":             encounters.ReferralLevels,
	"sex":                  encounters.Sexes,
	"encounter_status":     encounters.EncounterStatuses,
	"statement_status":     statements.StatementStatuses,
	"decision":             statements.Decisions,
	"reason_code":          statements.ReasonCodes,
	"flag":                 statements.LineFlags,
	"bulk_decision":        statements.BulkDecisions,
	"bulk_where":           statements.BulkSelections,
	"by":                   reports.ReportGroupings,
	"cap_period":           encounters.CapPeriods,
	"cap_mode":             encounters.CapModes,
	"appeal_status":        statements.AppealStatuses,
	"appeal_outcome":       statements.AppealOutcomes,
	"appeal_reason":        statements.AppealReasons,
	"period_status":        claims.PeriodStates,
	"period_action":        claims.PeriodActions,
	"import_job_state":     imports.States,
}

// Vocabularies returns a copy of every enumeration of the API by name (see vocabularies).
func Vocabularies() map[string][]string {
	out := make(map[string][]string, len(vocabularies))
	for k, v := range vocabularies {
		out[k] = slices.Clone(v)
	}
	return out
}

// inVocabulary is the validator's `vocab=NAME` check: the field is one of the named values.
// An unknown name fails every value; TestOpenAPIDocumentIsValid finds it first, since the
// generator refuses a tag it cannot resolve.
func inVocabulary(fl validator.FieldLevel) bool {
	return slices.Contains(vocabularies[fl.Param()], fl.Field().String())
}

// checkVocab refuses (into f) a query value that is set and not one of the named vocabulary.
func checkVocab(f *trcledger.Fields, field, vocab, value string) {
	if value != "" && !slices.Contains(vocabularies[vocab], value) {
		f.Add(field, "must be one of %s", strings.Join(vocabularies[vocab], ", "))
	}
}
