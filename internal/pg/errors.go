package pg

import (
	"database/sql"
	"errors"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/trcledger/trcledger"
)

// constraintError says what a violated constraint means to a client.
type constraintError struct {
	code, reason, field, message string
}

// constraints maps every named constraint a client can run into to a domain error.
var constraints = map[string]constraintError{
	"jurisdictions_pkey":                     {trcledger.ECONFLICT, "duplicate", "code", "a jurisdiction with this code already exists"},
	"jurisdictions_parent_code_fkey":         {trcledger.EINVALID, "validation_failed", "parent_code", "unknown jurisdiction"},
	"organizations_pkey":                     {trcledger.ECONFLICT, "duplicate", "code", "an organization with this code already exists"},
	"organizations_jurisdiction_code_fkey":   {trcledger.EINVALID, "validation_failed", "jurisdiction_code", "unknown jurisdiction"},
	"sites_pkey":                             {trcledger.ECONFLICT, "duplicate", "code", "a site with this code already exists"},
	"sites_jurisdiction_code_fkey":           {trcledger.EINVALID, "validation_failed", "jurisdiction_code", "unknown jurisdiction"},
	"services_pkey":                          {trcledger.ECONFLICT, "duplicate", "code", "a service with this code already exists"},
	"contracts_code_key":                     {trcledger.ECONFLICT, "duplicate", "code", "a contract with this code already exists"},
	"contracts_provider_code_fkey":           {trcledger.EINVALID, "validation_failed", "provider_code", "unknown provider"},
	"contracts_payer_code_fkey":              {trcledger.EINVALID, "validation_failed", "payer_code", "unknown payer"},
	"tariff_versions_no_overlap":             {trcledger.ECONFLICT, "tariff_overlap", "effective_from", "the period overlaps another tariff version of this contract"},
	"tariff_versions_contract_version_key":   {trcledger.ECONFLICT, "conflict", "", "another tariff version was added at the same time; try again"},
	"tariff_items_service_code_fkey":         {trcledger.EINVALID, "validation_failed", "items", "unknown service code"},
	"tariff_items_pkey":                      {trcledger.EINVALID, "validation_failed", "items", "a service is listed twice"},
	"tariff_items_append_only":               {trcledger.ECONFLICT, "immutable", "", "tariff items are never changed; add a new tariff version"},
	"cost_share_rules_site_code_fkey":        {trcledger.EINVALID, "validation_failed", "site_code", "unknown site"},
	"cost_share_rule_shares_payer_code_fkey": {trcledger.EINVALID, "validation_failed", "shares", "unknown payer"},
	"cost_share_rule_shares_payer_key":       {trcledger.EINVALID, "validation_failed", "shares", "a payer is listed twice"},
	"cost_share_rules_shares_sum":            {trcledger.EINVALID, "validation_failed", "shares", "basis points must sum to 10000"},
	"cost_share_rule_shares_append_only":     {trcledger.ECONFLICT, "immutable", "", "cost-share rules are never changed; add a new rule"},
	"api_tokens_org_code_fkey":               {trcledger.EINVALID, "validation_failed", "org_code", "unknown organization"},
	"api_tokens_binding_check":               {trcledger.EINVALID, "validation_failed", "org_code", "clinic and reviewer tokens need an organization; admin and finance tokens have none"},
	"users_username_key":                     {trcledger.ECONFLICT, "duplicate", "username", "a user with this username already exists"},
	"users_org_code_fkey":                    {trcledger.EINVALID, "validation_failed", "org_code", "unknown organization"},
	"users_binding_check":                    {trcledger.EINVALID, "validation_failed", "org_code", "clinic and reviewer users need an organization; admin and finance users have none"},
	"encounters_corrects_live_key":           {trcledger.ECONFLICT, "already_corrected", "corrects", "this encounter is corrected already; void that correction to correct it again"},
	"encounters_provider_external_id_key":    {trcledger.ECONFLICT, "duplicate_external_id", "external_id", "this provider already has a posted encounter with this external_id"},
	"tariff_versions_in_use":                 {trcledger.ECONFLICT, "tariff_version_in_use", "effective_from", "the open tariff version has priced encounters on or after this date; it cannot be closed before them"},
	"tariff_versions_immutable":              {trcledger.ECONFLICT, "immutable", "", "a tariff version is never edited, only closed"},
	"encounters_immutable":                   {trcledger.ECONFLICT, "immutable", "", "an encounter is never edited; void it and post a correction"},
	"statements_frozen":                      {trcledger.ECONFLICT, "invalid_state", "", "the statement cannot change this way in its state"},
	"statement_lines_frozen":                 {trcledger.ECONFLICT, "invalid_state", "", "the statement's lines are frozen in its state"},
	"statement_lines_share_live_key":         {trcledger.ECONFLICT, "conflict", "", "another statement claimed some of these lines at the same time; try again"},
	"statements_number_key":                  {trcledger.ECONFLICT, "conflict", "", "the statement was created at the same time by another request; try again"},
	"statements_live_key":                    {trcledger.ECONFLICT, "conflict", "", "the statement was created at the same time by another request; try again"},
	"cost_share_rules_append_only":           {trcledger.ECONFLICT, "immutable", "", "a cost-share rule is never edited; add a new rule (retroactive: true closes the one it amends)"},
	"encounter_repricings_revision_key":      {trcledger.ECONFLICT, "conflict", "", "the encounter was repriced at the same time by another request; try again"},
	"periods_pkey":                           {trcledger.ECONFLICT, "conflict", "", "the month was closed or reopened at the same time by another request; try again"},
	"audit_log_append_only":                  {trcledger.ECONFLICT, "immutable", "", "the audit log is append-only"},
	"contract_caps_no_overlap":               {trcledger.ECONFLICT, "cap_overlap", "effective_from", "another cap of this payer on this contract covers part of the same dates"},

	// Fallback payers and appeals (migration 0022).
	"cost_share_rule_shares_fallback_payer_code_fkey": {trcledger.EINVALID, "validation_failed", "shares", "unknown fallback payer"},
	"cost_share_rule_shares_fallback_check":           {trcledger.EINVALID, "validation_failed", "shares", "a share's fallback payer must be another payer"},
	"contracts_reroutable_reasons_check":              {trcledger.EINVALID, "validation_failed", "reroutable_reasons", "unknown reason code"},
	"contracts_appeal_window_check":                   {trcledger.EINVALID, "validation_failed", "appeal_window_days", "must be from 0 to 3650 days"},
	"statement_lines_reroute_live_key":                {trcledger.ECONFLICT, "conflict", "", "another statement claimed some of these lines at the same time; try again"},
	"rerouted_shares_line_key":                        {trcledger.ECONFLICT, "conflict", "", "this line was re-routed already"},
	"rerouted_shares_append_only":                     {trcledger.ECONFLICT, "immutable", "", "re-routed shares are never changed"},
	"appeals_open_line_key":                           {trcledger.ECONFLICT, "appeal_open", "line_id", "this line already has an open appeal"},
	"appeals_immutable":                               {trcledger.ECONFLICT, "invalid_state", "", "an appeal is decided once and never edited"},

	// Review sampling (migration 0024).
	"statement_extrapolations_append_only": {trcledger.ECONFLICT, "immutable", "", "an extrapolation is never changed; decide the lines again"},

	// Bulletins (migration 0027).
	"bulletins_pkey":        {trcledger.ECONFLICT, "bulletin_exists", "period", "the bulletin of this month is published already; later changes show as its restatement"},
	"bulletins_append_only": {trcledger.ECONFLICT, "immutable", "", "a published bulletin is never changed"},
	// Reference tariffs of state funds (migration 0026).
	"reference_tariff_versions_no_overlap":        {trcledger.ECONFLICT, "reference_tariff_overlap", "", "the period overlaps another reference tariff version of this payer"},
	"reference_tariff_versions_payer_version_key": {trcledger.ECONFLICT, "conflict", "", "another reference tariff version was added at the same time; try again"},
	"reference_tariff_versions_immutable":         {trcledger.ECONFLICT, "immutable", "", "a reference tariff version is never edited, only closed"},
	"reference_tariff_items_append_only":          {trcledger.ECONFLICT, "immutable", "", "reference tariff items are never changed; add a new version"},
}

// Translate turns a *pq.Error on a named constraint into a *trcledger.Error, and sql.ErrNoRows
// into ENOTFOUND; anything else is returned as it is.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &trcledger.Error{Code: trcledger.ENOTFOUND, Message: "not found"}
	}
	var pqe *pq.Error
	if !errors.As(err, &pqe) {
		return err
	}
	if c, ok := constraints[pqe.Constraint]; ok {
		e := &trcledger.Error{Code: c.code, Reason: c.reason, Message: c.message}
		if c.field != "" {
			e.Fields = []trcledger.FieldError{{Field: c.field, Message: c.message}}
		}
		return e
	}
	return err
}

// IsCode reports whether err is a PostgreSQL error with the SQLSTATE code.
func IsCode(err error, code pqerror.Code) bool {
	var pqe *pq.Error
	return errors.As(err, &pqe) && pqe.Code == code
}
