package main

import (
	"context"
	"database/sql"
	"fmt"
)

// tokens are the API tokens of the run: an admin token given on the command line, a finance
// token and one clinic token per provider, issued through the API.
type tokens struct {
	admin, finance string
	clinic         map[string]string // provider code -> token
}

// setupReference creates the reference data, contracts, tariffs, cost-share rules and tokens
// through the admin API, as an operator would.
func setupReference(ctx context.Context, c *client, admin string) (*tokens, error) {
	post := func(path string, v any) error {
		if err := c.postJSON(ctx, path, admin, v, nil); err != nil {
			return fmt.Errorf("set up %s: %w", path, err)
		}
		return nil
	}
	type m = map[string]any
	for _, j := range []m{
		{"code": "BA", "name": "Bosnia and Herzegovina"},
		{"code": "BA-FBIH", "name": "Federation of Bosnia and Herzegovina", "parent_code": "BA"},
		{"code": "BA-FBIH-USK", "name": "Una-Sana Canton", "parent_code": "BA-FBIH"},
		{"code": "BA-FBIH-KS", "name": "Sarajevo Canton", "parent_code": "BA-FBIH"},
	} {
		if err := post("/v1/jurisdictions", j); err != nil {
			return nil, err
		}
	}
	for _, p := range providers {
		if err := post("/v1/organizations", m{"code": p.Code, "name": p.Name, "kind": "provider", "level": p.Level, "jurisdiction_code": p.Jurisdiction}); err != nil {
			return nil, err
		}
	}
	for _, p := range payers {
		if err := post("/v1/organizations", m{"code": p.Code, "name": p.Name, "kind": "payer", "payer_type": p.Type, "jurisdiction_code": p.Jurisdiction}); err != nil {
			return nil, err
		}
	}
	for _, s := range sites {
		if err := post("/v1/sites", m{"code": s.Code, "name": s.Name, "kind": s.Kind, "jurisdiction_code": s.Jurisdiction}); err != nil {
			return nil, err
		}
	}
	for _, s := range services {
		if err := post("/v1/services", m{"code": s.Code, "name": s.Name, "category": s.Category, "unit": s.Unit, "requires_referral": s.RequiresReferral}); err != nil {
			return nil, err
		}
	}
	for _, p := range providers {
		if err := post("/v1/contracts", m{"code": p.contract(), "provider_code": p.Code, "payer_code": "IOM", "currency": "BAM",
			"valid_from": contractFrom, "status": "active"}); err != nil {
			return nil, err
		}
		tariff := m{"effective_from": contractFrom, "items": primaryTariff()}
		if p.hospital() {
			tariff = m{"effective_from": contractFrom, "point_value": p.PointValue, "items": hospitalTariff()}
		}
		if err := post("/v1/contracts/"+p.contract()+"/tariffs", tariff); err != nil {
			return nil, err
		}
		for _, r := range schedule(p) {
			if err := post("/v1/contracts/"+p.contract()+"/cost-shares", r); err != nil {
				return nil, err
			}
		}
	}
	t := &tokens{admin: admin, clinic: map[string]string{}}
	issue := func(name, role, org string) (string, error) { return issueToken(ctx, c, admin, name, role, org) }
	var err error
	if t.finance, err = issue("bench finance", "finance", ""); err != nil {
		return nil, err
	}
	for _, p := range providers {
		if t.clinic[p.Code], err = issue("bench clinic "+p.Code, "clinic", p.Code); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// issueToken issues a token through the API and returns its secret.
func issueToken(ctx context.Context, c *client, admin, name, role, org string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.postJSON(ctx, "/v1/tokens", admin, map[string]any{"name": name, "role": role, "org_code": org}, &out); err != nil {
		return "", fmt.Errorf("issue %s token: %w", role, err)
	}
	return out.Token, nil
}

// rawSchema creates the tables of the raw baselines in schema raw: copies of the service's
// tables with their columns, checks and indexes, but no foreign keys and no triggers. Ids the
// service draws from identities come from one sequence far above the service's ids.
const rawSchema = `
DROP SCHEMA IF EXISTS raw CASCADE;
CREATE SCHEMA raw;
CREATE SEQUENCE raw.ids START 1000000000000;
CREATE TABLE raw.encounters (LIKE public.encounters INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE raw.encounters ALTER seq SET DEFAULT nextval('raw.ids');
CREATE TABLE raw.encounter_lines (LIKE public.encounter_lines INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE raw.line_shares (LIKE public.line_shares INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE raw.line_shares ALTER id SET DEFAULT nextval('raw.ids');
CREATE TABLE raw.ledger_transactions (LIKE public.ledger_transactions INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE raw.ledger_transactions ALTER id SET DEFAULT nextval('raw.ids');
CREATE TABLE raw.ledger_postings (LIKE public.ledger_postings INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE raw.statement_lines (LIKE public.statement_lines INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE raw.statement_lines ALTER id SET DEFAULT nextval('raw.ids');
`

func setupRaw(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, rawSchema); err != nil {
		return fmt.Errorf("create raw schema: %w", err)
	}
	return nil
}
