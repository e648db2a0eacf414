package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// singleResult is what a run of single posts measured.
type singleResult struct {
	ok       int
	errors   int
	elapsed  time.Duration
	lat      latencies
	firstErr string
	peakRSS  int64
}

// runSingle posts encounters one at a time from clients concurrent clients for d (after a
// warm-up of warm). Each client is a clinic workstation with a token of its own (the server
// limits requests per token) on a connection of its own; client w posts for provider w mod 10.
func (b *bench) runSingle(ctx context.Context, clients int, warm, d time.Duration) (*singleResult, error) {
	toks := make([]string, clients)
	for w := range toks {
		var err error
		p := providers[w%len(providers)].Code
		if toks[w], err = issueToken(ctx, b.api, b.tok.admin, fmt.Sprintf("bench workstation %d of %s", w, p), "clinic", p); err != nil {
			return nil, err
		}
	}
	win := newWindow(warm, d)
	var rss *rssSampler
	var mu sync.Mutex
	var wg sync.WaitGroup
	go func() {
		time.Sleep(time.Until(win.startAt))
		mu.Lock()
		rss = sampleRSS(b.serverPID)
		mu.Unlock()
	}()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pi := w % len(providers)
			g := newGen(b.seed, pi, fmt.Sprintf("single-%d", w), 20000)
			token := toks[w]
			win.run(func(n int) error {
				e := g.single(fmt.Sprintf("S-%02d-%07d", w, n))
				body, _ := json.Marshal(&e)
				return b.api.call(ctx, "POST", "/v1/encounters", token,
					map[string]string{"Idempotency-Key": e.ExternalID}, bytes.NewReader(body), int64(len(body)), nil)
			})
		}()
	}
	wg.Wait()
	res := win.result()
	mu.Lock()
	if rss != nil {
		res.peakRSS = rss.Stop()
	}
	mu.Unlock()
	return res, nil
}

// Columns the raw single posts write, the same as the service's.
var (
	rawEncCols   = []string{"id", "provider_code", "contract_id", "site_code", "external_id", "patient_key", "beneficiary_category", "sex", "birth_year", "service_date", "kind", "diagnoses", "referral_number", "referral_to_level", "referral_to_provider", "practitioner_ref", "currency", "total", "content_hash", "ledger_transaction_id", "created_at"}
	rawLineCols  = []string{"encounter_id", "line_no", "service_code", "quantity", "unit_price", "net", "vat_rate", "vat", "amount", "tariff_version_id", "cost_share_rule_id"}
	rawShareCols = []string{"encounter_id", "line_no", "position", "payer_code", "provider_code", "service_date", "basis_points", "amount"}
	rawTxCols    = []string{"kind", "reference", "effective_date", "created_at"}
	rawPostCols  = []string{"transaction_id", "line", "account", "currency", "amount", "effective_date"}
)

// template is a posted encounter with its rows as text, to insert again under new ids.
type template struct {
	enc      []any
	lines    [][]any
	shares   [][]any
	tx       []any
	postings [][]any
}

func selectText(ctx context.Context, db *sql.DB, cols []string, from string, args ...any) ([][]any, error) {
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = c + "::text"
	}
	// cols and from are constants of this program; the values go as parameters.
	rows, err := db.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" "+from, args...) //nolint:gosec
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := make([]any, len(cols))
		for i, v := range vals {
			if v.Valid {
				r[i] = v.String
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// loadTemplates reads up to n encounters the single posts wrote, with the shape of a single
// post (3 lines, 6 shares, 4 postings).
func (b *bench) loadTemplates(ctx context.Context, n int) ([]template, error) {
	var ids []string
	rows, err := b.db.QueryContext(ctx, `SELECT e.id::text FROM encounters e WHERE e.external_id LIKE 'S-%'
		AND (SELECT count(*) FROM line_shares s WHERE s.encounter_id = e.id) = 6
		AND (SELECT count(*) FROM ledger_postings p WHERE p.transaction_id = e.ledger_transaction_id) = 4
		ORDER BY e.seq LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close() // Next has closed it when the loop ends
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []template
	for _, id := range ids {
		var t template
		enc, err := selectText(ctx, b.db, rawEncCols, "FROM encounters WHERE id = $1", id)
		if err != nil {
			return nil, fmt.Errorf("load template encounter: %w", err)
		} else if len(enc) != 1 {
			return nil, fmt.Errorf("load template encounter: %d rows", len(enc))
		}
		t.enc = enc[0]
		if t.lines, err = selectText(ctx, b.db, rawLineCols, "FROM encounter_lines WHERE encounter_id = $1 ORDER BY line_no", id); err != nil {
			return nil, err
		}
		if t.shares, err = selectText(ctx, b.db, rawShareCols, "FROM line_shares WHERE encounter_id = $1 ORDER BY line_no, position", id); err != nil {
			return nil, err
		}
		tx, err := selectText(ctx, b.db, rawTxCols, "FROM ledger_transactions WHERE id = $1", t.enc[19])
		if err != nil {
			return nil, fmt.Errorf("load template transaction: %w", err)
		} else if len(tx) != 1 {
			return nil, fmt.Errorf("load template transaction: %d rows", len(tx))
		}
		t.tx = tx[0]
		if t.postings, err = selectText(ctx, b.db, rawPostCols, "FROM ledger_postings WHERE transaction_id = $1 ORDER BY line", t.enc[19]); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no single post to copy for the raw baseline")
	}
	return out, nil
}

func insertSQL(table string, cols []string, nrows int, returning string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	p := 1
	for r := range nrows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", p)
			p++
		}
		b.WriteString(")")
	}
	if returning != "" {
		b.WriteString(" RETURNING " + returning)
	}
	return b.String()
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// runRawSingle is the raw baseline of the single posts: clients goroutines, each on a
// connection of its own with prepared statements, insert the same rows (encounter, 3 lines,
// 6 shares, ledger transaction, 4 postings) with plain INSERTs, one database transaction per
// encounter, for d after a warm-up of warm.
func (b *bench) runRawSingle(ctx context.Context, tpls []template, clients int, warm, d time.Duration) (*singleResult, error) {
	win := newWindow(warm, d)
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := b.db.Conn(ctx)
			if err != nil {
				errc <- err
				return
			}
			defer conn.Close()
			t0 := tpls[0]
			prep := func(q string) *sql.Stmt {
				if err != nil {
					return nil
				}
				var s *sql.Stmt
				s, err = conn.PrepareContext(ctx, q)
				return s
			}
			insTx := prep(insertSQL("raw.ledger_transactions", rawTxCols, 1, "id"))
			insPost := prep(insertSQL("raw.ledger_postings", rawPostCols, len(t0.postings), ""))
			insEnc := prep(insertSQL("raw.encounters", rawEncCols, 1, ""))
			insLines := prep(insertSQL("raw.encounter_lines", rawLineCols, len(t0.lines), ""))
			insShares := prep(insertSQL("raw.line_shares", rawShareCols, len(t0.shares), ""))
			if err != nil {
				errc <- err
				return
			}
			flat := func(rows [][]any, set map[int]any) []any {
				var out []any
				for _, r := range rows {
					for i, v := range r {
						if x, ok := set[i]; ok {
							v = x
						}
						out = append(out, v)
					}
				}
				return out
			}
			one := func(t *template, n int) error {
				if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
					return err
				}
				fail := func(err error) error {
					_, _ = conn.ExecContext(ctx, "ROLLBACK")
					return err
				}
				id := newUUID()
				var txID int64
				if err := insTx.QueryRowContext(ctx, flat([][]any{t.tx}, map[int]any{1: "encounter:" + id})...).Scan(&txID); err != nil {
					return fail(err)
				}
				if _, err := insPost.ExecContext(ctx, flat(t.postings, map[int]any{0: txID})...); err != nil {
					return fail(err)
				}
				if _, err := insEnc.ExecContext(ctx, flat([][]any{t.enc}, map[int]any{0: id, 4: fmt.Sprintf("RS-%02d-%07d", w, n), 19: txID})...); err != nil {
					return fail(err)
				}
				if _, err := insLines.ExecContext(ctx, flat(t.lines, map[int]any{0: id})...); err != nil {
					return fail(err)
				}
				if _, err := insShares.ExecContext(ctx, flat(t.shares, map[int]any{0: id})...); err != nil {
					return fail(err)
				}
				_, err := conn.ExecContext(ctx, "COMMIT")
				return err
			}
			win.run(func(n int) error { return one(&tpls[(w+n*clients)%len(tpls)], n) })
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("raw single posts: %w", err)
	}
	return win.result(), nil
}

// window is the measured stretch of a run of single posts (after a warm-up) and what the
// clients counted in it.
type window struct {
	startAt, endAt time.Time
	mu             sync.Mutex
	res            singleResult
}

func newWindow(warm, d time.Duration) *window {
	start := time.Now().Add(warm)
	return &window{startAt: start, endAt: start.Add(d), res: singleResult{elapsed: d}}
}

// run is one client: it calls post until the window closes and counts the posts that started
// and ended inside it (the warm-up's and those finishing too late are not counted).
func (win *window) run(post func(n int) error) {
	var lat latencies
	var ok, bad int
	var first string
	for n := 0; time.Now().Before(win.endAt); n++ {
		t0 := time.Now()
		err := post(n)
		t1 := time.Now()
		switch {
		case t0.Before(win.startAt) || t1.After(win.endAt):
		case err != nil:
			bad++
			if first == "" {
				first = err.Error()
			}
		default:
			ok++
			lat = append(lat, t1.Sub(t0))
		}
	}
	win.mu.Lock()
	defer win.mu.Unlock()
	win.res.ok += ok
	win.res.errors += bad
	win.res.lat = append(win.res.lat, lat...)
	if win.res.firstErr == "" {
		win.res.firstErr = first
	}
}

// result is what every client counted; call it once they have all returned.
func (win *window) result() *singleResult {
	win.mu.Lock()
	defer win.mu.Unlock()
	res := win.res
	return &res
}
