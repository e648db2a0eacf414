package claims_test

import (
	"context"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// legacyZeroShareRule writes, as a rule made before 0 basis points were refused, a cost-share
// rule of DZ Bihać's contract for March 2025 primary care of irregular migrants at Lipa that
// lists ZZO KS at 0: IOM 40%, ZZO KS 0%, ZZO USK 60%.
func legacyZeroShareRule(t *testing.T, f *fixture) {
	t.Helper()
	_, err := f.DB.Exec(`
		WITH r AS (
			INSERT INTO cost_share_rules (contract_id, effective_from, effective_to, service_category, beneficiary_category, site_code)
			SELECT id, '2025-03-01', '2025-04-01', 'primary_care', 'irregular_migrant', 'TRC-LIPA' FROM contracts WHERE code = $1
			RETURNING id)
		INSERT INTO cost_share_rule_shares (rule_id, position, payer_code, basis_points)
		SELECT r.id, s.position, s.payer, s.bp FROM r, (VALUES (1, $2, 4000), (2, $3, 0), (3, $4, 6000)) AS s(position, payer, bp)`,
		demo.ContractDZBihac, demo.PayerIOM, demo.PayerZZOKS, demo.PayerZZOUSK)
	if err != nil {
		t.Fatal(err)
	}
}

// TestZeroShareGrantsNothing: a payer listed at 0 basis points has no share in the line: its
// reviewers get 404 for the encounter (as for any other payer's), nothing of it in their
// transition report, and no statement; a new rule listing a payer at 0 is refused.
func TestZeroShareGrantsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	legacyZeroShareRule(t, f)
	e := f.PostOn(t, "ZERO-1", "P1", "2025-03-10")
	if got := sharesOf(e.Lines[0]); got != "IOM=8.00 ZZO-KS=0.00 ZZO-USK=12.00" {
		t.Fatalf("shares = %s", got)
	}
	zzoKS, zzoUSK := as(access.RoleReviewer, demo.PayerZZOKS), as(access.RoleReviewer, demo.PayerZZOUSK)
	_, err := f.Svc.FindEncounterByID(zzoKS, e.ID)
	wantCode(t, err, trcledger.ENOTFOUND, "")
	got, err := f.Svc.FindEncounterByID(zzoUSK, e.ID)
	if err != nil || len(got.Diagnoses) != 1 {
		t.Fatalf("ZZO USK's reviewer: %v, diagnoses %v", err, got)
	}

	for _, kept := range []bool{false, true} {
		if kept {
			if _, err := f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
				t.Fatal(err)
			}
		}
		for _, by := range []string{"", reports.BySite, reports.ByServiceCategory} {
			r, err := f.Svc.TransitionReport(zzoKS, reports.TransitionFilter{From: "2025-01", To: "2025-12", By: by})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Items) != 0 {
				t.Errorf("kept=%v by %q: ZZO KS's reviewer sees %d rows of an encounter it pays nothing of", kept, by, len(r.Items))
			}
		}
	}
	_, err = f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOKS, "2025-03")
	wantCode(t, err, trcledger.EINVALID, "nothing_to_claim")

	store := contracts.NewStore(f.DB, func() time.Time { return today })
	_, err = store.AddCostShareRule(as(access.RoleAdmin, ""), demo.ContractDZBihac, contracts.CostShareRule{
		EffectiveFrom: date("2026-01-01"), SiteCode: sp("TRC-BORICI"),
		Shares: []contracts.Share{{PayerCode: demo.PayerZZOKS, BasisPoints: 0}, {PayerCode: demo.PayerIOM, BasisPoints: 10000}}})
	if e := wantError(t, err, trcledger.EINVALID, ""); !fieldSet(e)["shares[0].basis_points"] {
		t.Errorf("a 0 basis points share: %v", e.Fields)
	}
}
