package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger/ledger"
)

// pair is a provider and a payer with shares in the dataset.
type pair struct{ provider, payer string }

func (b *bench) pairs(ctx context.Context) ([]pair, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT DISTINCT provider_code, payer_code FROM line_shares
		WHERE service_date >= $1 AND service_date < $2 ORDER BY 1, 2`,
		fmt.Sprintf("%d-01-01", datasetYear), fmt.Sprintf("%d-01-01", datasetYear+1))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.provider, &p.payer); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// stmtResult is what building one month's statements measured.
type stmtResult struct {
	statements, lines int
	claimed           float64
	elapsed           time.Duration
}

// createStatements builds the statements of period for every pair through the API, clients
// at a time, as finance. A pair with nothing to claim (422) makes no statement.
func (b *bench) createStatements(ctx context.Context, period string, pairs []pair, clients int) (*stmtResult, error) {
	res := &stmtResult{}
	ch := make(chan pair)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				var out struct {
					LineCount int    `json:"line_count"`
					Claimed   string `json:"claimed"`
				}
				err := b.api.postJSON(ctx, "/v1/statements", b.tok.finance,
					map[string]string{"provider_code": p.provider, "payer_code": p.payer, "period": period}, &out)
				mu.Lock()
				switch {
				case err == nil:
					res.statements++
					res.lines += out.LineCount
					c, _ := strconv.ParseFloat(out.Claimed, 64)
					res.claimed += c
				case statusOf(err) == 422:
				case firstErr == nil:
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range pairs {
		ch <- p
	}
	close(ch)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, firstErr
}

// rawStatements is the hand-written baseline of a month's statements: one INSERT ... SELECT
// that gathers every pair's unclaimed posted shares up to the end of the month into
// raw.statement_lines, flags the late ones, and sums them per statement.
const rawStatements = `
WITH gathered AS (
	INSERT INTO raw.statement_lines (statement_id, share_id, amount, flags)
	SELECT md5(sh.provider_code || '/' || sh.payer_code || '/' || $3)::uuid, sh.id, sh.amount,
	       CASE WHEN sh.service_date < $1 THEN ARRAY['late'] ELSE '{}'::text[] END
	FROM line_shares sh JOIN encounters e ON e.id = sh.encounter_id
	WHERE sh.service_date <= $2 AND sh.amount > 0 AND e.status = 'posted' AND e.currency = 'BAM'
	  AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.share_id = sh.id AND l.live)
	RETURNING statement_id, amount)
SELECT count(DISTINCT statement_id), count(*), coalesce(sum(amount), 0)::float8 FROM gathered`

func (b *bench) rawStatements(ctx context.Context, period string) (*stmtResult, error) {
	first, _ := time.Parse("2006-01", period)
	last := first.AddDate(0, 1, -1)
	res := &stmtResult{}
	start := time.Now()
	err := b.db.QueryRowContext(ctx, rawStatements, first.Format("2006-01-02"), last.Format("2006-01-02"), period).
		Scan(&res.statements, &res.lines, &res.claimed)
	res.elapsed = time.Since(start)
	return res, err
}

// reportResult is what the transition report measured: the median and the slowest of the
// runs (up to reps, fewer when slow; the first one warms up and is not counted), and the rows
// of the answer.
type reportResult struct {
	median, slowest time.Duration
	runs, rows      int
	unavailable     string
}

// reportBudget bounds the repetitions of a slow report: at least 3 are made, then no more
// once this much time has passed.
const reportBudget = 15 * time.Second

func summarize(ds []time.Duration) (time.Duration, time.Duration) {
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1]
}

func (b *bench) transition(ctx context.Context, by string, reps int) (*reportResult, error) {
	q := url.Values{"from": {fmt.Sprintf("%d-01", datasetYear)}, "to": {fmt.Sprintf("%d-12", datasetYear)}, "by": {by}}
	path := "/v1/reports/transition?" + q.Encode()
	var ds []time.Duration
	res := &reportResult{}
	start := time.Now()
	for i := range reps + 1 {
		if len(ds) >= 3 && time.Since(start) > reportBudget {
			break
		}
		var out struct {
			Items []map[string]any `json:"items"`
		}
		t0 := time.Now()
		err := b.api.call(ctx, "GET", path, b.tok.finance, nil, nil, 0, &out)
		d := time.Since(t0)
		if statusOf(err) == 404 || statusOf(err) == 405 {
			res.unavailable = fmt.Sprintf("not available (GET /v1/reports/transition answers %d)", statusOf(err))
			return res, nil
		}
		if err != nil {
			return nil, err
		}
		res.rows = len(out.Items)
		if i > 0 { // the first run warms up
			ds = append(ds, d)
		}
	}
	res.median, res.slowest = summarize(ds)
	res.runs = len(ds)
	return res, nil
}

// rawTransition is the hand-written aggregate behind the transition report: the payer shares
// of posted encounters summed per day (and group) and payer type first, a few thousand rows,
// then per month; the encounters and distinct patients counted from the encounters. It runs
// with the session settings a report deserves (work_mem 64MB, no JIT). %[1]s is the group
// expression, %[2]s the joins of the shares to it, %[3]s those of the encounters, %[4]s the
// count of encounters.
const rawTransition = `
WITH amounts AS (
	SELECT date_trunc('month', d.day) AS m, d.grp, sum(d.amount) AS total,
	       coalesce(sum(d.amount) FILTER (WHERE d.payer_type = 'international'), 0) AS intl,
	       coalesce(sum(d.amount) FILTER (WHERE d.payer_type = 'donor'), 0) AS donor,
	       coalesce(sum(d.amount) FILTER (WHERE d.payer_type = 'state_fund'), 0) AS fund,
	       coalesce(sum(d.amount) FILTER (WHERE d.payer_type = 'government'), 0) AS gov
	FROM (
		SELECT sh.service_date AS day, %[1]s AS grp, o.payer_type, sum(sh.amount) AS amount
		FROM line_shares sh
		JOIN encounters e ON e.id = sh.encounter_id
		JOIN organizations o ON o.code = sh.payer_code
		%[2]s
		WHERE e.status = 'posted' AND sh.service_date >= $1 AND sh.service_date < $2
		GROUP BY 1, 2, 3) d
	GROUP BY 1, 2
), counts AS (
	SELECT date_trunc('month', e.service_date) AS m, %[1]s AS grp, %[4]s AS encounters, count(DISTINCT e.patient_key) AS patients
	FROM encounters e
	%[3]s
	WHERE e.status = 'posted' AND e.service_date >= $1 AND e.service_date < $2
	GROUP BY 1, 2
)
SELECT to_char(a.m, 'YYYY-MM'), a.grp, a.total, a.intl, a.donor, a.fund, a.gov, c.encounters, c.patients
FROM amounts a JOIN counts c ON c.m = a.m AND c.grp IS NOT DISTINCT FROM a.grp
ORDER BY 1, 2`

var rawGroups = map[string][4]string{
	"": {"NULL::text", "", "", "count(*)"},
	"service_category": {"svc.category",
		"JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.line_no = sh.line_no JOIN services svc ON svc.code = el.service_code",
		"JOIN encounter_lines el ON el.encounter_id = e.id JOIN services svc ON svc.code = el.service_code",
		"count(DISTINCT e.id)"},
}

func (b *bench) rawTransition(ctx context.Context, by string, reps int) (*reportResult, error) {
	g := rawGroups[by]
	q := fmt.Sprintf(rawTransition, g[0], g[1], g[2], g[3])
	from, to := fmt.Sprintf("%d-01-01", datasetYear), fmt.Sprintf("%d-01-01", datasetYear+1)
	var ds []time.Duration
	res := &reportResult{}
	start := time.Now()
	for i := range reps + 1 {
		if len(ds) >= 3 && time.Since(start) > reportBudget {
			break
		}
		t0 := time.Now()
		n, err := b.rawTransitionOnce(ctx, q, from, to)
		if err != nil {
			return nil, err
		}
		d := time.Since(t0)
		res.rows = n
		if i > 0 {
			ds = append(ds, d)
		}
	}
	res.median, res.slowest = summarize(ds)
	res.runs = len(ds)
	return res, nil
}

func (b *bench) rawTransitionOnce(ctx context.Context, q, from, to string) (int, error) {
	tx, err := b.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to keep
	if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '64MB'; SET LOCAL jit = off`); err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, q, from, to)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// growPostings appends balanced synthetic ledger transactions (4 postings each: a fund or the
// Ministry and IOM, each debiting its expense and crediting what it owes a provider, dated
// through the dataset's months and January after) until the journal holds target postings, in
// chunks that are sealed as they go, with the service's own sealer (ledger.Journal.Seal), so the
// daily totals and the chain are what the service would have built. It returns how many postings
// the journal holds.
func (b *bench) growPostings(ctx context.Context, target int64, pairs []pair) (int64, error) {
	var have int64
	if err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM ledger_postings`).Scan(&have); err != nil {
		return 0, err
	}
	var provs, payersOf []string
	for _, p := range pairs {
		if p.payer != "IOM" {
			provs, payersOf = append(provs, p.provider), append(payersOf, p.payer)
		}
	}
	journal := ledger.New(sqlx.NewDb(b.db, "postgres"))
	const chunk = 100000 // transactions
	start := time.Now()
	var g int64
	for have < target {
		n := min(int64(chunk), (target-have+3)/4)
		_, err := b.db.ExecContext(ctx, `
			WITH pairs AS (
				SELECT k - 1 AS k, provider, payer FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(provider, payer, k)
			), t AS (
				INSERT INTO ledger_transactions (kind, reference, effective_date)
				SELECT 'bench_posted', 'bench:' || g, date '2025-01-01' + ((g * 40503) % 396)::int
				FROM generate_series($1::bigint, $2::bigint) g ORDER BY g
				RETURNING id, reference, effective_date
			), src AS (
				SELECT t.id, t.effective_date, substr(t.reference, 7)::bigint AS g FROM t
			)
			INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
			SELECT src.id, x.line, x.account, 'BAM', x.amount, src.effective_date
			FROM src
			JOIN pairs p ON p.k = (src.g * 2654435761) % cardinality($3::text[])
			CROSS JOIN LATERAL (SELECT ((src.g * 7919) % 9000 + 100) / 100.0 AS a1, ((src.g * 104729) % 6000 + 100) / 100.0 AS a2) a
			CROSS JOIN LATERAL (VALUES (1, 'expense:' || p.payer, a.a1), (2, 'payable:' || p.payer || ':' || p.provider, -a.a1),
			                           (3, 'expense:IOM', a.a2), (4, 'payable:IOM:' || p.provider, -a.a2)) x(line, account, amount)`,
			g, g+n-1, pq.Array(provs), pq.Array(payersOf))
		if err != nil {
			return have, fmt.Errorf("generate postings: %w", err)
		}
		g += n
		have += 4 * n
		if _, err := journal.Seal(ctx); err != nil {
			return have, fmt.Errorf("seal generated postings: %w", err)
		}
		b.logf("  %s postings (%.0f s)", thousands(have), time.Since(start).Seconds())
	}
	return have, nil
}

// balanceProbe is one balance asked for.
type balanceProbe struct {
	account, asOf string
}

func (b *bench) balanceProbes(ctx context.Context, n int) ([]balanceProbe, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT DISTINCT account FROM ledger_daily_totals ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var accounts []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		accounts = append(accounts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(accounts) == 0 {
		return nil, fmt.Errorf("no sealed accounts")
	}
	r := rand.New(rand.NewPCG(b.seed, 5))
	first := time.Date(datasetYear, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]balanceProbe, n)
	for i := range out {
		out[i] = balanceProbe{accounts[r.IntN(len(accounts))], first.AddDate(0, 0, r.IntN(396)).Format("2006-01-02")}
	}
	return out, nil
}

// balances asks the API for each probe in turn (one client, one token, at most 250 requests a
// second to stay under the server's per-token rate limit) and returns the latencies (the first
// warm requests not counted) and the balances.
func (b *bench) balances(ctx context.Context, probes []balanceProbe, warm int) (latencies, []float64, error) {
	var lat latencies
	var sums []float64
	next := time.Now()
	for i, p := range probes {
		time.Sleep(time.Until(next))
		next = time.Now().Add(4 * time.Millisecond)
		q := url.Values{"account": {p.account}, "as_of": {p.asOf}}
		var out struct {
			Items []struct {
				Balance string `json:"balance"`
			} `json:"items"`
		}
		t0 := time.Now()
		if err := b.api.call(ctx, "GET", "/v1/ledger/balances?"+q.Encode(), b.tok.finance, nil, nil, 0, &out); err != nil {
			return nil, nil, err
		}
		d := time.Since(t0)
		var s float64
		for _, it := range out.Items {
			v, _ := strconv.ParseFloat(it.Balance, 64)
			s += v
		}
		if i >= warm {
			lat = append(lat, d)
			sums = append(sums, s)
		}
	}
	return lat, sums, nil
}

// rawBalances sums the postings of each probe directly, on one connection with a prepared
// statement, until all are done or limit has passed.
func (b *bench) rawBalances(ctx context.Context, probes []balanceProbe, limit time.Duration) (latencies, []float64, error) {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	st, err := conn.PrepareContext(ctx, `SELECT coalesce(sum(amount), 0)::float8 FROM ledger_postings WHERE account = $1 AND effective_date <= $2`)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	var lat latencies
	var sums []float64
	start := time.Now()
	for _, p := range probes {
		if time.Since(start) > limit {
			break
		}
		var s float64
		t0 := time.Now()
		if err := st.QueryRowContext(ctx, p.account, p.asOf).Scan(&s); err != nil {
			return nil, nil, err
		}
		lat = append(lat, time.Since(t0))
		sums = append(sums, s)
	}
	return lat, sums, nil
}

// withBusyMonth runs fn while period counts as being written to: a mark dated an hour ahead,
// since the server leaves marked months alone while a mark is younger than a few seconds. The
// mark is taken away after, whatever happens (no data changed, the kept rows stay right).
func (b *bench) withBusyMonth(ctx context.Context, period string, fn func() (*reportResult, error)) (*reportResult, error) {
	var at time.Time
	if err := b.db.QueryRowContext(ctx, `INSERT INTO report_dirty (period, marked_at) VALUES ($1, now() + interval '1 hour')
		RETURNING marked_at`, period).Scan(&at); err != nil {
		return nil, fmt.Errorf("mark %s: %w", period, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := b.db.ExecContext(dctx, `DELETE FROM report_dirty WHERE period = $1 AND marked_at = $2`, period, at); err != nil {
			b.logf("  take the mark of %s away: %v", period, err)
		}
	}()
	return fn()
}
