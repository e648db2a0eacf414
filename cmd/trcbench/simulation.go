package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// simProposal is the what-if schedule the benchmark tries on the dataset's year: primary care
// split half and half between ZZO USK and IOM from January, every other line as posted.
func simProposal() map[string]any {
	return map[string]any{
		"from": fmt.Sprintf("%d-01", datasetYear), "to": fmt.Sprintf("%d-12", datasetYear),
		"rules": []map[string]any{{"effective_from": fmt.Sprintf("%d-01-01", datasetYear), "service_category": "primary_care",
			"shares": []map[string]any{{"payer_code": "ZZO-USK", "basis_points": 5000}, {"payer_code": "IOM", "basis_points": 5000}}}},
	}
}

// simResult is what the simulation measured: the first call (which computes the kept months of
// a freshly loaded year), the median and slowest of the others, and the answer's sums.
type simResult struct {
	first, median, slowest time.Duration
	runs, rows             int
	lines                  int64
	actual, simulated      float64
}

// simulation posts the proposal reps+1 times as finance.
func (b *bench) simulation(ctx context.Context, reps int) (*simResult, error) {
	res := &simResult{}
	var ds []time.Duration
	start := time.Now()
	for i := range reps + 1 {
		if len(ds) >= 3 && time.Since(start) > reportBudget {
			break
		}
		var out struct {
			Items []struct {
				Actual    string `json:"actual"`
				Simulated string `json:"simulated"`
			} `json:"items"`
			Lines int64 `json:"lines"`
		}
		t0 := time.Now()
		if err := b.api.postJSON(ctx, "/v1/reports/simulations", b.tok.finance, simProposal(), &out); err != nil {
			return nil, err
		}
		d := time.Since(t0)
		if i == 0 {
			res.first = d
			res.rows, res.lines = len(out.Items), out.Lines
			for _, it := range out.Items {
				a, _ := strconv.ParseFloat(it.Actual, 64)
				s, _ := strconv.ParseFloat(it.Simulated, 64)
				res.actual += a
				res.simulated += s
			}
			continue
		}
		ds = append(ds, d)
	}
	res.median, res.slowest = summarize(ds)
	res.runs = len(ds)
	return res, nil
}

// rawSimulation is the hand-written baseline: every posted line of the year split again in one
// statement, primary care half and half (rounded half up for ZZO USK, the rest to IOM), the
// others by their posted shares, summed per month and payer beside the posted shares.
const rawSimulation = `
WITH lines AS (
	SELECT el.encounter_id, el.revision, el.line_no, to_char(e.service_date, 'YYYY-MM') AS period, svc.category, el.amount
	FROM encounter_lines el
	JOIN encounters e ON e.id = el.encounter_id AND e.revision = el.revision
	JOIN services svc ON svc.code = el.service_code
	WHERE e.status = 'posted' AND e.service_date >= $1 AND e.service_date < $2
), shares AS (
	SELECT l.period, sh.payer_code, sh.amount AS actual, CASE WHEN l.category = 'primary_care' THEN 0 ELSE sh.amount END AS simulated
	FROM lines l JOIN line_shares sh ON sh.encounter_id = l.encounter_id AND sh.revision = l.revision AND sh.line_no = l.line_no
	UNION ALL
	SELECT period, 'ZZO-USK', 0, round(amount * 5000 / 10000, 2) FROM lines WHERE category = 'primary_care'
	UNION ALL
	SELECT period, 'IOM', 0, amount - round(amount * 5000 / 10000, 2) FROM lines WHERE category = 'primary_care'
)
SELECT count(*), coalesce(sum(a), 0)::float8, coalesce(sum(s), 0)::float8 FROM (
	SELECT period, payer_code, sum(actual) AS a, sum(simulated) AS s FROM shares GROUP BY 1, 2
	HAVING sum(actual) <> 0 OR sum(simulated) <> 0) x`

// rawSim runs the baseline reps times (with a report's session settings) and returns its median.
func (b *bench) rawSim(ctx context.Context, reps int) (*simResult, error) {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET work_mem = '64MB'; SET jit = off`); err != nil {
		return nil, err
	}
	res := &simResult{}
	var ds []time.Duration
	start := time.Now()
	for range reps {
		if len(ds) >= 3 && time.Since(start) > reportBudget {
			break
		}
		t0 := time.Now()
		err := conn.QueryRowContext(ctx, rawSimulation, fmt.Sprintf("%d-01-01", datasetYear), fmt.Sprintf("%d-01-01", datasetYear+1)).
			Scan(&res.rows, &res.actual, &res.simulated)
		if err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t0))
	}
	res.median, res.slowest = summarize(ds)
	res.runs = len(ds)
	return res, nil
}
