package contracts

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// ListCostShareRules returns the contract's cost-share rules with their shares, by start date.
func (s *Store) ListCostShareRules(ctx context.Context, contractCode string) ([]CostShareRule, error) {
	c, err := s.FindContractByCode(ctx, contractCode)
	if err != nil {
		return nil, err
	}
	return loadRules(ctx, s.db, c)
}

func loadRules(ctx context.Context, q sqlx.QueryerContext, c *Contract) ([]CostShareRule, error) {
	rules := []CostShareRule{}
	err := sqlx.SelectContext(ctx, q, &rules, `
		SELECT id, $2::text AS contract_code, effective_from, effective_to, service_category,
		       beneficiary_category, site_code, created_at
		FROM cost_share_rules WHERE contract_id = $1 ORDER BY effective_from, id`, c.ID, c.Code)
	if err != nil {
		return nil, fmt.Errorf("list cost-share rules: %w", err)
	}
	var shares []struct {
		RuleID int64 `db:"rule_id"`
		Share
	}
	err = sqlx.SelectContext(ctx, q, &shares, `
		SELECT s.rule_id, s.payer_code, s.basis_points, s.fallback_payer_code
		FROM cost_share_rule_shares s JOIN cost_share_rules r ON r.id = s.rule_id
		WHERE r.contract_id = $1 ORDER BY s.rule_id, s.position`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("list cost shares: %w", err)
	}
	byID := map[int64]*CostShareRule{}
	for i := range rules {
		rules[i].Shares = []Share{}
		byID[rules[i].ID] = &rules[i]
	}
	for _, sh := range shares {
		r := byID[sh.RuleID]
		r.Shares = append(r.Shares, sh.Share)
	}
	return rules, nil
}

// AddCostShareRule adds a phase of the transition schedule to the contract. It returns
// ENOTFOUND for an unknown contract, EINVALID for bad fields, an unknown site or a share for an
// organization that is not a payer, and ECONFLICT ambiguous_cost_share_rule naming the rule
// that could apply to the same lines at the same specificity.
func (s *Store) AddCostShareRule(ctx context.Context, contractCode string, r CostShareRule) (*CostShareRule, error) {
	var f trcledger.Fields
	if err := f.MergeErr(r.Validate()); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		c, err := findContract(ctx, tx, contractCode, true)
		if err != nil {
			return err
		}
		for i, sh := range r.Shares {
			if sh.PayerCode == "" {
				continue
			}
			checkKind(ctx, tx, &f, fmt.Sprintf("shares[%d].payer_code", i), sh.PayerCode, "payer")
			if sh.FallbackPayerCode != nil {
				checkKind(ctx, tx, &f, fmt.Sprintf("shares[%d].fallback_payer_code", i), *sh.FallbackPayerCode, "payer")
			}
		}
		if r.SiteCode != nil {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM sites WHERE code = $1`, *r.SiteCode); err != nil {
				return fmt.Errorf("check site: %w", err)
			}
			if n == 0 {
				f.Add("site_code", "unknown site %s", *r.SiteCode)
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		existing, err := loadRules(ctx, tx, c)
		if err != nil {
			return err
		}
		for i := range existing {
			if existing[i].CollidesWith(&r) {
				return trcledger.Errorf(trcledger.ECONFLICT,
					"cost-share rule %d (from %s) could apply to the same lines at the same specificity", existing[i].ID, existing[i].EffectiveFrom).
					WithReason("ambiguous_cost_share_rule").With("conflicting_rule_id", existing[i].ID)
			}
		}
		if err := touchContract(ctx, tx, c.ID, s.now()); err != nil {
			return err
		}
		r.ContractCode = c.Code
		err = tx.GetContext(ctx, &r, `
			INSERT INTO cost_share_rules (contract_id, effective_from, effective_to, service_category, beneficiary_category, site_code, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id, effective_from, effective_to, service_category, beneficiary_category, site_code, created_at`,
			c.ID, r.EffectiveFrom, r.EffectiveTo, r.ServiceCategory, r.BeneficiaryCategory, r.SiteCode, s.now())
		if err != nil {
			return pg.Translate(err)
		}
		payers, bps, fallbacks := make([]string, len(r.Shares)), make([]int64, len(r.Shares)), make([]*string, len(r.Shares))
		for i, sh := range r.Shares {
			payers[i], bps[i], fallbacks[i] = sh.PayerCode, int64(sh.BasisPoints), sh.FallbackPayerCode
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO cost_share_rule_shares (rule_id, position, payer_code, basis_points, fallback_payer_code)
			SELECT $1, ord, payer, bp, fallback FROM unnest($2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS t(payer, bp, fallback, ord)`,
			r.ID, pq.Array(payers), pq.Array(bps), pq.Array(fallbacks))
		if err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "create", "cost_share_rule", fmt.Sprint(r.ID), r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
