package reports

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// Limits of a simulation request.
const (
	MaxSimulationRules  = 100
	MaxSimulationMonths = 36
	// MaxTariffChangePercent bounds a tariff change: from -99.99% to +1000%.
	MaxTariffChangePercent = 1000
)

// TariffChange changes the unit price of every line of a service category by Percent (10 for
// 10% more, -5 for 5% less) in a simulation.
type TariffChange struct {
	ServiceCategory string          `json:"service_category"`
	Percent         decimal.Decimal `json:"percent"`
}

// SimulationRequest asks how the posted lines of the months From..To (YYYY-MM, both included)
// of the contracts ContractCodes (every contract when empty) would have been split under
// Rules, a proposed cost-share schedule in the shape of the cost-share API (without contract:
// the rules apply to the lines of every contract simulated), with the unit prices of some
// service categories changed by TariffChanges.
type SimulationRequest struct {
	From, To      string
	ContractCodes []string
	Rules         []contracts.CostShareRule
	TariffChanges []TariffChange
}

// SimulationRow is one month and payer: what the payer's shares of the month's posted lines
// are (Actual), what they would be under the proposal (Simulated), and Simulated − Actual.
type SimulationRow struct {
	Period     string           `json:"period"`
	PayerCode  string           `json:"payer_code"`
	PayerType  string           `json:"payer_type"`
	Currency   string           `json:"currency"`
	Actual     trcledger.Amount `json:"actual"`
	Simulated  trcledger.Amount `json:"simulated"`
	Difference trcledger.Amount `json:"difference"`
}

// Simulation is the answer of a what-if schedule: rows by month and payer code, and how many
// posted lines were split again.
type Simulation struct {
	Items []SimulationRow `json:"items"`
	Lines int64           `json:"lines"`
}

// readSnapshot is how a report reads: one read-only snapshot.
var readSnapshot = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// mayRunSimulations: finance and admin. A reviewer may not: a proposed rule can give the
// reviewer's fund a share of any line, and the answer would show the cost of lines the fund
// has no part in (docs/simulations-and-parity.md).
func mayRunSimulations(ctx context.Context) error {
	if access.InRoles(access.PrincipalFrom(ctx), []string{access.RoleFinance, access.RoleAdmin}) {
		return nil
	}
	return trcledger.Errorf(trcledger.EFORBIDDEN, "simulations are for finance and admin")
}

// months returns the months of [from, until) as YYYY-MM.
// scopeColumns returns the columns of the scope fields some proposed rule reads (the service
// category also when a tariff change reads it), and ” for the others: cells that differ only
// in a field nothing reads split alike. (A line no proposed rule covers splits by its posted
// rule, which the cells keep apart anyway.)
func scopeColumns(rules []contracts.CostShareRule, changed []string) [3]string {
	cols := [3]string{`''`, `''`, `''`}
	if len(changed) > 0 {
		cols[0] = `service_category`
	}
	for _, r := range rules {
		if r.ServiceCategory != nil {
			cols[0] = `service_category`
		}
		if r.BeneficiaryCategory != nil {
			cols[1] = `beneficiary_category`
		}
		if r.SiteCode != nil {
			cols[2] = `site_code`
		}
	}
	return cols
}

// scanCells reads cells from query.
func scanCells(ctx context.Context, tx *sqlx.Tx, query string, args ...any) ([]simCell, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []simCell
	dec := func(s sql.NullString) (*decimal.Decimal, error) {
		if !s.Valid {
			return nil, nil
		}
		d, err := decimal.NewFromString(s.String)
		return &d, err
	}
	for rows.Next() {
		var c simCell
		var unit, qty, vat sql.NullString
		if err := rows.Scan(&c.Day, &c.Period, &c.Currency, &c.ServiceCategory, &c.BeneficiaryCategory, &c.SiteCode, &c.RuleID,
			&unit, &qty, &vat, &c.Cents, &c.Lines); err != nil {
			return nil, err
		}
		var errs [3]error
		c.UnitPrice, errs[0] = dec(unit)
		c.Quantity, errs[1] = dec(qty)
		c.VATRate, errs[2] = dec(vat)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func monthsOf(from, until time.Time) []string {
	var out []string
	for m := from; m.Before(until); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// validate checks the request's fields and returns the first day of From and the day after
// To; EINVALID naming every bad field.
func (r *SimulationRequest) validate() (time.Time, time.Time, error) {
	var f trcledger.Fields
	from, okFrom := reportMonth(&f, "from", r.From)
	to, okTo := reportMonth(&f, "to", r.To)
	if okFrom && okTo {
		months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
		switch {
		case months < 1:
			f.Add("to", "must not be before from (%s)", r.From)
		case months > MaxSimulationMonths:
			f.Add("to", "the range covers %d months; at most %d", months, MaxSimulationMonths)
		}
	}
	if len(r.Rules) > MaxSimulationRules {
		f.Add("rules", "at most %d rules", MaxSimulationRules)
	}
	for i := range r.Rules {
		rule := &r.Rules[i]
		if err := rule.Validate(); err != nil {
			if e := (*trcledger.Error)(nil); errors.As(err, &e) {
				f.Merge(fmt.Sprintf("rules[%d]", i), e.Fields)
			}
			continue
		}
		for j := range i {
			if r.Rules[j].Validate() == nil && r.Rules[j].CollidesWith(rule) {
				f.Add(fmt.Sprintf("rules[%d]", i), "could apply to the same lines as rules[%d] at the same specificity", j)
				break
			}
		}
	}
	seen := map[string]int{}
	for i, c := range r.TariffChanges {
		p := fmt.Sprintf("tariff_changes[%d]", i)
		if !slices.Contains(contracts.ServiceCategories, c.ServiceCategory) {
			f.Add(p+".service_category", "must be one of %s", strings.Join(contracts.ServiceCategories, ", "))
		} else if j, dup := seen[c.ServiceCategory]; dup {
			f.Add(p+".service_category", "%s already has tariff_changes[%d]", c.ServiceCategory, j)
		} else {
			seen[c.ServiceCategory] = i
		}
		if c.Percent.LessThanOrEqual(decimal.NewFromInt(-100)) || c.Percent.GreaterThan(decimal.NewFromInt(MaxTariffChangePercent)) ||
			trcledger.DecimalPlaces(c.Percent) > 2 {
			f.Add(p+".percent", "must be a percentage above -100 and at most %d, with at most 2 decimals", MaxTariffChangePercent)
		}
	}
	return from, to.AddDate(0, 1, 0), f.Err()
}

// checkSimulationRefs names each unknown contract, payer and site of the request, and returns
// the ids of the contracts (nil: all of them).
func checkSimulationRefs(ctx context.Context, q sqlx.QueryerContext, r *SimulationRequest) ([]int64, error) {
	var f trcledger.Fields
	ids := []int64{}
	if len(r.ContractCodes) > 0 {
		var found []struct {
			ID   int64  `db:"id"`
			Code string `db:"code"`
		}
		if err := sqlx.SelectContext(ctx, q, &found, `SELECT id, code FROM contracts WHERE code = ANY($1)`, pq.Array(r.ContractCodes)); err != nil {
			return nil, fmt.Errorf("simulation: contracts: %w", err)
		}
		byCode := map[string]int64{}
		for _, c := range found {
			byCode[c.Code] = c.ID
		}
		for i, code := range r.ContractCodes {
			id, ok := byCode[code]
			if !ok {
				f.Add(fmt.Sprintf("contract_codes[%d]", i), "unknown contract %s", code)
				continue
			}
			ids = append(ids, id)
		}
	}
	var payers, sites []string
	if err := sqlx.SelectContext(ctx, q, &payers, `SELECT code FROM organizations WHERE kind = 'payer'`); err != nil {
		return nil, fmt.Errorf("simulation: payers: %w", err)
	}
	if err := sqlx.SelectContext(ctx, q, &sites, `SELECT code FROM sites`); err != nil {
		return nil, fmt.Errorf("simulation: sites: %w", err)
	}
	for i, rule := range r.Rules {
		if rule.SiteCode != nil && !slices.Contains(sites, *rule.SiteCode) {
			f.Add(fmt.Sprintf("rules[%d].site_code", i), "unknown site %s", *rule.SiteCode)
		}
		for j, sh := range rule.Shares {
			if sh.PayerCode != "" && !slices.Contains(payers, sh.PayerCode) {
				f.Add(fmt.Sprintf("rules[%d].shares[%d].payer_code", i, j), "unknown payer %s", sh.PayerCode)
			}
		}
	}
	return ids, f.Err()
}

// simCell is a group of posted lines that split alike: same month (or day, for a month a
// proposed rule starts or ends in), scope, rule and amount (and price inputs, where a tariff
// change applies), with how many lines it holds. Scope fields no proposed rule reads are empty.
type simCell struct {
	Day                 trcledger.Date
	Period              string
	Currency            string
	ServiceCategory     string
	BeneficiaryCategory string
	SiteCode            string
	RuleID              int64
	UnitPrice           *decimal.Decimal
	Quantity            *decimal.Decimal
	VATRate             *decimal.Decimal
	Cents               int64 // the line amount in cents
	Lines               int64
}

// cellsQuery sums cells (%[4]s: the kept ones, or a month's lines aggregated by day) over what
// the simulation does not need to tell apart: the contract, the scope fields no proposed rule
// reads (%[1]s, %[2]s, %[3]s are each the field or ”), and the price inputs of the categories
// without a tariff change ($3). The service category is kept where a tariff change reads it.
const cellsQuery = `
SELECT day, period, currency, %[1]s, %[2]s, %[3]s, cost_share_rule_id,
       CASE WHEN service_category = ANY($3) THEN unit_price::text END,
       CASE WHEN service_category = ANY($3) THEN quantity::text END,
       CASE WHEN service_category = ANY($3) THEN vat_rate::text END,
       (amount * 100)::bigint, sum(lines)::bigint
FROM (%[4]s) c
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11`

// keptCells are the kept cells of the months $1 of the contracts $2 (all when empty).
const keptCells = `SELECT (period || '-01')::date AS day, * FROM simulation_cells
WHERE period = ANY($1) AND (cardinality($2::bigint[]) = 0 OR contract_id = ANY($2))`

// cellsSQL aggregates posted lines of the current revisions into cells: %[1]s is the day
// expression (the month's first day for kept cells, the service date for a month aggregated
// live), %[2]s the conditions beyond the dates $1 <= service date < $2.
const cellsSQL = `
SELECT %[1]s AS day, to_char(e.service_date, 'YYYY-MM') AS period, e.contract_id, e.currency, svc.category AS service_category,
       e.beneficiary_category, e.site_code, el.cost_share_rule_id, el.unit_price, el.quantity, el.vat_rate, el.amount, count(*) AS lines
FROM encounter_lines el
JOIN encounters e ON e.id = el.encounter_id AND e.revision = el.revision
JOIN services svc ON svc.code = el.service_code
WHERE e.status = 'posted' AND e.service_date >= $1 AND e.service_date < $2 %[2]s
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12`

// Simulate re-splits the posted lines (current revisions of posted encounters) of the months
// and contracts of r under the proposed rules and tariff changes, and compares the result per
// month and payer with the shares as posted. It writes nothing but its kept month aggregates
// (simulation_cells, simulation_actuals).
//
// Each line is split as posting splits it (contracts.Split: round half up per share, the rest
// to the last share above 0 basis points), by the proposed rule that applies to it (the most
// specific that matches its date, service category, beneficiary category and site) or, where
// no proposed rule applies, by the rule that split it when it was posted. A tariff change
// prices the line again: unit price × (100 + percent) / 100 rounded to 4 decimals, then net,
// VAT and amount as posting rounds them. Lines that split alike are counted together, so the
// figures are the exact sums of the per-line splits. Budget ceilings and review outcomes are
// not simulated: Actual is the shares as posted (after any ceiling moved them).
//
// It returns EFORBIDDEN for anyone but finance and admin, and EINVALID naming every bad field
// (from, to, contract_codes[i], rules[i]..., tariff_changes[i]...).
func (s *Service) Simulate(ctx context.Context, r SimulationRequest) (*Simulation, error) {
	if err := mayRunSimulations(ctx); err != nil {
		return nil, err
	}
	from, until, err := r.validate()
	if err != nil {
		return nil, err
	}
	ids, err := checkSimulationRefs(ctx, s.db, &r)
	if err != nil {
		return nil, err
	}
	months := monthsOf(from, until)
	if err := s.keepSimulationMonths(ctx, months); err != nil {
		return nil, err
	}
	changed := []string{}
	pct := map[string]decimal.Decimal{}
	for _, c := range r.TariffChanges {
		changed = append(changed, c.ServiceCategory)
		pct[c.ServiceCategory] = c.Percent
	}
	// Months a proposed rule starts or ends in, not on their first day, are aggregated by day.
	live := map[string]bool{}
	for _, rule := range r.Rules {
		for _, d := range []*trcledger.Date{&rule.EffectiveFrom, rule.EffectiveTo} {
			if d != nil && d.Time().Day() != 1 {
				live[d.Time().Format("2006-01")] = true
			}
		}
	}
	kept := []string{}
	for _, m := range months {
		if !live[m] {
			kept = append(kept, m)
		}
	}
	var cells []simCell
	actual := map[simKey]decimal.Decimal{}
	payerTypes := map[string]string{}
	ruleShares := map[int64][]contracts.Share{}
	err = pg.WithTxOpts(ctx, s.db, readSnapshot, func(tx *sqlx.Tx) error {
		cells, actual, payerTypes, ruleShares = nil, map[simKey]decimal.Decimal{}, map[string]string{}, map[int64][]contracts.Share{}
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		keys := scopeColumns(r.Rules, changed)
		var err error
		if cells, err = scanCells(ctx, tx, fmt.Sprintf(cellsQuery, keys[0], keys[1], keys[2], keptCells),
			pq.Array(kept), pq.Array(ids), pq.Array(changed)); err != nil {
			return fmt.Errorf("simulation: kept cells: %w", err)
		}
		for _, m := range months {
			if !live[m] {
				continue
			}
			start, _ := time.Parse("2006-01", m)
			source := fmt.Sprintf(cellsSQL, `e.service_date`, `AND (cardinality($4::bigint[]) = 0 OR e.contract_id = ANY($4))`)
			day, err := scanCells(ctx, tx, fmt.Sprintf(cellsQuery, keys[0], keys[1], keys[2], source),
				trcledger.DateOf(start), trcledger.DateOf(start.AddDate(0, 1, 0)), pq.Array(changed), pq.Array(ids))
			if err != nil {
				return fmt.Errorf("simulation: cells of %s: %w", m, err)
			}
			cells = append(cells, day...)
		}
		rows, err := tx.QueryContext(ctx, `SELECT period, currency, payer_code, sum(amount) FROM simulation_actuals
			WHERE period = ANY($1) AND (cardinality($2::bigint[]) = 0 OR contract_id = ANY($2)) GROUP BY 1, 2, 3`, pq.Array(months), pq.Array(ids))
		if err != nil {
			return fmt.Errorf("simulation: actual shares: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k simKey
			var a decimal.Decimal
			if err := rows.Scan(&k.period, &k.currency, &k.payer, &a); err != nil {
				return fmt.Errorf("simulation: actual shares: %w", err)
			}
			actual[k] = a
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("simulation: actual shares: %w", err)
		}
		ruleIDs := map[int64]bool{}
		for _, c := range cells {
			ruleIDs[c.RuleID] = true
		}
		var shares []struct {
			RuleID int64 `db:"rule_id"`
			contracts.Share
		}
		if err := tx.SelectContext(ctx, &shares, `SELECT rule_id, payer_code, basis_points FROM cost_share_rule_shares
			WHERE rule_id = ANY($1) ORDER BY rule_id, position`, pq.Array(slices.Collect(maps.Keys(ruleIDs)))); err != nil {
			return fmt.Errorf("simulation: rules: %w", err)
		}
		for _, sh := range shares {
			ruleShares[sh.RuleID] = append(ruleShares[sh.RuleID], sh.Share)
		}
		var types []struct {
			Code string `db:"code"`
			Type string `db:"payer_type"`
		}
		if err := tx.SelectContext(ctx, &types, `SELECT code, payer_type FROM organizations WHERE kind = 'payer'`); err != nil {
			return fmt.Errorf("simulation: payer types: %w", err)
		}
		for _, t := range types {
			payerTypes[t.Code] = t.Type
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	simulated, lines, err := resplit(cells, r.Rules, ruleShares, pct)
	if err != nil {
		return nil, err
	}
	return &Simulation{Items: simulationRows(actual, simulated, payerTypes), Lines: lines}, nil
}

// simKey is a month, currency and payer of a simulation's answer.
type simKey struct{ period, currency, payer string }

// resplit splits every cell's lines as posting would, and sums the shares per month, currency
// and payer; it also returns the number of lines. A cell whose posted rule is unknown is an
// internal error (rules are never deleted).
func resplit(cells []simCell, proposed []contracts.CostShareRule, posted map[int64][]contracts.Share, pct map[string]decimal.Decimal) (map[simKey]decimal.Decimal, int64, error) {
	// Cells of one scope choose the same rule, and lines of one amount under one rule split
	// alike: both are worked out once.
	type scope struct {
		day                   trcledger.Date
		category, benef, site string
		ruleID                int64
	}
	type split struct {
		rule  int // index into schedules
		cents int64
	}
	var schedules [][]contracts.Share
	chosen, byID := map[scope]int{}, map[int64]int{}
	// Sums are kept in cents (amounts have 2 decimals): exact, and no decimal arithmetic per cell.
	type payerCents struct {
		payer string
		cents int64
	}
	splits := map[split][]payerCents{}
	sums := map[simKey]int64{}
	var lines int64
	for _, c := range cells {
		sc := scope{c.Day, c.ServiceCategory, c.BeneficiaryCategory, c.SiteCode, c.RuleID}
		idx, ok := chosen[sc]
		if !ok {
			// A schedule is a proposed rule (-1 - its index) or a posted rule (its id).
			id := c.RuleID
			if rule, err := contracts.SelectRule(proposed, contracts.LineScope{On: c.Day, ServiceCategory: c.ServiceCategory,
				BeneficiaryCategory: c.BeneficiaryCategory, SiteCode: c.SiteCode}); err == nil {
				for i := range proposed {
					if &proposed[i] == rule {
						id = -1 - int64(i)
					}
				}
			}
			if idx, ok = byID[id]; !ok {
				shares := posted[id]
				if id < 0 {
					shares = proposed[-1-id].Shares
				}
				if len(shares) == 0 {
					return nil, 0, fmt.Errorf("simulation: cost-share rule %d has no shares", c.RuleID)
				}
				idx = len(schedules)
				schedules = append(schedules, shares)
				byID[id] = idx
			}
			chosen[sc] = idx
		}
		cents := c.Cents
		if p, ok := pct[c.ServiceCategory]; ok && c.UnitPrice != nil && c.Quantity != nil && c.VATRate != nil {
			_, _, amount := contracts.LineAmounts(contracts.AdjustPrice(*c.UnitPrice, p), *c.Quantity, *c.VATRate)
			cents = amount.Shift(2).IntPart()
		}
		sk := split{idx, cents}
		parts, ok := splits[sk]
		if !ok {
			amount := decimal.New(cents, -2)
			for _, sh := range contracts.Split(amount, schedules[idx]) {
				parts = append(parts, payerCents{sh.PayerCode, sh.Amount.Shift(2).IntPart()})
			}
			splits[sk] = parts
		}
		for _, sh := range parts {
			k := simKey{c.Period, c.Currency, sh.payer}
			sums[k] += sh.cents * c.Lines
		}
		lines += c.Lines
	}
	out := make(map[simKey]decimal.Decimal, len(sums))
	for k, v := range sums {
		out[k] = decimal.New(v, -2)
	}
	return out, lines, nil
}

// simulationRows joins the actual and simulated sums into rows by month, currency and payer,
// leaving out payers with nothing on either side.
func simulationRows(actual, simulated map[simKey]decimal.Decimal, payerTypes map[string]string) []SimulationRow {
	keys := map[simKey]bool{}
	for k := range actual {
		keys[k] = true
	}
	for k := range simulated {
		keys[k] = true
	}
	items := []SimulationRow{}
	for k := range keys {
		a, sim := actual[k], simulated[k]
		if a.IsZero() && sim.IsZero() {
			continue
		}
		items = append(items, SimulationRow{Period: k.period, PayerCode: k.payer, PayerType: payerTypes[k.payer], Currency: k.currency,
			Actual: trcledger.NewAmount(a), Simulated: trcledger.NewAmount(sim), Difference: trcledger.NewAmount(sim.Sub(a))})
	}
	slices.SortFunc(items, func(a, b SimulationRow) int {
		return cmp.Or(cmp.Compare(a.Period, b.Period), cmp.Compare(a.PayerCode, b.PayerCode), cmp.Compare(a.Currency, b.Currency))
	})
	return items
}
