package reports_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// tamper runs statements as a superuser would, around the append-only triggers.
func tamper(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	err := pg.WithTx(t.Context(), db, func(tx *sqlx.Tx) error {
		if _, err := tx.Exec(`SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
}

// monthTotal is the bulletin row of the month's totals in BAM.
func monthTotal(t *testing.T, rows []reports.BulletinRow) reports.BulletinRow {
	t.Helper()
	for _, r := range rows {
		if r.Grouping == "" && r.Currency == "BAM" {
			return r
		}
	}
	t.Fatalf("no month total among %d rows", len(rows))
	return reports.BulletinRow{}
}

func TestBulletinPublishRestateVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedTransition(t, f)
	finance := as(access.RoleFinance, "")
	published := time.Date(2025, 4, 2, 9, 30, 0, 0, time.UTC)
	bl := reports.NewBulletins(f.Svc.Reports, f.Journal, func() time.Time { return published })

	// Who may publish, and what.
	wantCode(t, errOf(bl.Publish(as(access.RoleAdmin, ""), "2025-03")), trcledger.EFORBIDDEN, "")
	wantCode(t, errOf(bl.Publish(claimstest.Reviewer, "2025-03")), trcledger.EFORBIDDEN, "")
	wantCode(t, errOf(bl.Publish(finance, "2025-13")), trcledger.EINVALID, "")
	wantCode(t, errOf(bl.Publish(finance, "2025-04")), trcledger.EINVALID, "") // not over on 2025-04-02

	b, err := bl.Publish(finance, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	// The month's figures, from the table of seedTransition: 55 + 4 × 20 (DZ Bihać) + 20
	// (DZ-KS) + 1200 (hospital case); IOM 43 + 4 × 8 + 8 + 600, ZZO 5 × 12 + 12, MSB 600.
	m := monthTotal(t, b.Items)
	if m.Total.String() != "1355.00" || m.ByPayerType.International.String() != "683.00" || m.ByPayerType.StateFund.String() != "72.00" ||
		m.ByPayerType.Government.String() != "600.00" || m.StateShare != "49.59" || *m.Encounters != 7 || *m.Patients != 7 {
		t.Errorf("month row = %+v", m)
	}
	// Every grouping is frozen, each as the transition report answers it.
	for _, g := range reports.BulletinGroupings {
		rep, err := f.Svc.TransitionReport(finance, reports.TransitionFilter{From: "2025-03", To: "2025-03", By: g})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range b.Items {
			if r.Grouping == g {
				got = append(got, rowsOf(&reports.TransitionReport{Items: []reports.TransitionRow{r.TransitionRow}})...)
			}
		}
		sameLines(t, "grouping "+g, got, rowsOf(rep))
	}
	// The head is the chain's last link, and it covers every transaction posted so far.
	var last struct {
		Position int64  `db:"position"`
		TxID     int64  `db:"transaction_id"`
		Hash     []byte `db:"hash"`
	}
	if err := f.DB.Get(&last, `SELECT position, transaction_id, hash FROM ledger_chain ORDER BY position DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	txs := f.Count(t, `SELECT count(*) FROM ledger_transactions`)
	if b.ChainHead != hex.EncodeToString(last.Hash) || b.Chain.Position != last.Position || *b.Chain.TransactionID != last.TxID || int(last.Position) != txs {
		t.Errorf("head = %+v (%s), want position %d of %d transactions, %x", b.Chain, b.ChainHead, last.Position, txs, last.Hash)
	}
	if !b.PublishedAt.Equal(published) || b.PublishedBy == "" {
		t.Errorf("published %v by %q", b.PublishedAt, b.PublishedBy)
	}
	wantCode(t, errOf(bl.Publish(finance, "2025-03")), trcledger.ECONFLICT, "bulletin_exists")
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'publish' AND object_id = '2025-03'`); n != 1 {
		t.Errorf("%d audit entries of the publication", n)
	}

	got, err := bl.Get(finance, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if got.Restated != nil || got.ChainHead != b.ChainHead || len(got.Items) != len(b.Items) {
		t.Fatalf("fresh bulletin = %+v", got)
	}
	wantCode(t, errOf(bl.Get(claimstest.Reviewer, "2025-03")), trcledger.EFORBIDDEN, "")
	wantCode(t, errOf(bl.Get(finance, "2025-02")), trcledger.ENOTFOUND, "")

	// A late line of March: the bulletin keeps what it published, the restatement shows it.
	in := visit("LATE-1")
	in.PatientID, in.ServiceDate = "P8", date("2025-03-25")
	if _, err := f.Svc.PostEncounter(f.Clinic, in, key("LATE-1")); err != nil {
		t.Fatal(err)
	}
	got, err = bl.Get(finance, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if m := monthTotal(t, got.Items); m.Total.String() != "1355.00" {
		t.Errorf("published total became %s", m.Total)
	}
	if got.Restated == nil {
		t.Fatal("no restatement after a late line")
	}
	if m := monthTotal(t, got.Restated.Items); m.Total.String() != "1375.00" || *m.Encounters != 8 {
		t.Errorf("restated month = %+v", m)
	}
	var d *reports.BulletinDifference
	for i, x := range got.Restated.Difference {
		if x.Grouping == "" {
			d = &got.Restated.Difference[i]
		}
	}
	// 20.00: ZZO USK 12.00, IOM 8.00; state share 684/1375 = 49.75 against 49.59.
	if d == nil || d.Total.String() != "20.00" || d.ByPayerType.StateFund.String() != "12.00" || d.ByPayerType.International.String() != "8.00" ||
		d.StateShare != "0.16" || *d.Encounters != 1 || *d.Patients != 1 {
		t.Errorf("difference of the month = %+v", d)
	}

	// Verification up to the head, then a ledger row of March altered under it.
	v, err := bl.Verify(finance, "2025-03")
	if err != nil || !v.OK || !v.ItemsOK || v.TransactionsChecked != b.Chain.Position {
		t.Fatalf("verify = %+v, %v", v, err)
	}
	var march int64
	if err := f.DB.Get(&march, `SELECT id FROM ledger_transactions WHERE effective_date = '2025-03-04'`); err != nil {
		t.Fatal(err)
	}
	tamper(t, f.DB, fmt.Sprintf(`UPDATE ledger_postings SET amount = amount * 2 WHERE transaction_id = %d`, march))
	v, err = bl.Verify(finance, "2025-03")
	if err != nil || v.OK || v.ChainOK || v.FirstBad == nil || *v.FirstBad != march || !strings.Contains(v.Reason, "hash mismatch") {
		t.Fatalf("verify after tampering = %+v, %v; want first_bad %d", v, err, march)
	}
	if res, err := f.Journal.Verify(t.Context()); err != nil || res.OK || res.FirstBad == nil || *res.FirstBad != march {
		t.Errorf("ledger verify after tampering = %+v, %v", res, err)
	}
	tamper(t, f.DB, fmt.Sprintf(`UPDATE ledger_postings SET amount = amount / 2 WHERE transaction_id = %d`, march))
	if v, err := bl.Verify(finance, "2025-03"); err != nil || !v.OK {
		t.Fatalf("verify after undoing = %+v, %v", v, err)
	}

	// The chain rewritten whole (every link's hash recomputed) is caught at the head.
	tamper(t, f.DB, fmt.Sprintf(`UPDATE ledger_chain SET hash = sha256(hash) WHERE position = %d`, b.Chain.Position))
	if v, err := bl.Verify(finance, "2025-03"); err != nil || v.OK {
		t.Fatalf("verify with another head = %+v, %v", v, err)
	}
	tamper(t, f.DB, fmt.Sprintf(`UPDATE ledger_chain SET hash = '\x%s' WHERE position = %d`, b.ChainHead, b.Chain.Position))

	// The bulletin's own rows altered.
	tamper(t, f.DB, `UPDATE bulletins SET items = replace(items::text, '"1355.00"', '"1255.00"')::jsonb WHERE period = '2025-03'`)
	if v, err := bl.Verify(finance, "2025-03"); err != nil || v.OK || v.ItemsOK || !v.ChainOK {
		t.Fatalf("verify with altered items = %+v, %v", v, err)
	}

	// The database refuses to change a bulletin.
	if _, err := f.DB.Exec(`DELETE FROM bulletins WHERE period = '2025-03'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete of a bulletin: %v", err)
	}
	list, err := bl.List(finance)
	if err != nil || len(list) != 1 || list[0].Period != "2025-03" || list[0].ChainHead != b.ChainHead {
		t.Errorf("list = %+v, %v", list, err)
	}
}

// A void and a repricing under a published month show as its restatement too, and a month
// with nothing in it publishes empty.
func TestBulletinRestatesVoids(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	finance := as(access.RoleFinance, "")
	bl := reports.NewBulletins(f.Svc.Reports, f.Journal, func() time.Time { return claimstest.Today })
	var ids []string
	for i := range 6 {
		e := f.PostOn(t, fmt.Sprintf("V-%d", i), fmt.Sprintf("PV-%d", i), "2025-05-1"+fmt.Sprint(i))
		ids = append(ids, e.ID)
	}
	b, err := bl.Publish(finance, "2025-05")
	if err != nil {
		t.Fatal(err)
	}
	if m := monthTotal(t, b.Items); m.Total.String() != "120.00" || *m.Patients != 6 {
		t.Fatalf("month = %+v", m)
	}
	if _, err := f.Svc.VoidEncounter(f.Clinic, ids[0], "wrong patient"); err != nil {
		t.Fatal(err)
	}
	got, err := bl.Get(finance, "2025-05")
	if err != nil || got.Restated == nil {
		t.Fatalf("after a void: %+v, %v", got, err)
	}
	for _, d := range got.Restated.Difference {
		if d.Grouping == "" && (d.Total.String() != "-20.00" || *d.Encounters != -1) {
			t.Errorf("difference = %+v", d)
		}
	}
	empty, err := bl.Publish(finance, "2025-06")
	if err != nil || len(empty.Items) != 0 {
		t.Fatalf("empty month: %+v, %v", empty, err)
	}
}

func errOf[T any](_ T, err error) error { return err }

// pdfText extracts a PDF's text with poppler's pdftotext: skipped without it on a developer's
// machine, failed when CI is set (.ci/run installs poppler-utils).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext not found")
		}
		t.Skip("pdftotext not found (apt-get install poppler-utils)")
	}
	cmd := exec.Command(bin, "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.ReplaceAll(string(out), "\u00a0", " ")
}

func TestBulletinPDF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedTransition(t, f)
	finance := as(access.RoleFinance, "")
	bl := reports.NewBulletins(f.Svc.Reports, f.Journal, func() time.Time { return claimstest.Today })
	b, err := bl.Publish(finance, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	in := visit("LATE-PDF")
	in.PatientID, in.ServiceDate = "P9", date("2025-03-26")
	if _, err := f.Svc.PostEncounter(f.Clinic, in, key("LATE-PDF")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		loc  string
		want []string
	}{
		{"en", []string{"Monthly bulletin of the transition: March 2025", "1,355.00", "49.59 %", "Restated", "1,375.00", "20.00", b.ChainHead[:16]}},
		{"bs", []string{"Mjesečni bilten tranzicije: mart 2025.", "1.355,00", "49,59 %", "Ispravljeno", "1.375,00"}},
		{"hr", []string{"ožujak 2025.", "1.355,00", "Razlika"}},
		{"sr-Latn", []string{"Mesečni bilten tranzicije: mart 2025.", "Udeo države"}},
		{"sr-Cyrl", []string{"Месечни билтен транзиције: март 2025.", "Удео државе", "1.355,00", b.ChainHead[:16]}},
	} {
		var buf bytes.Buffer
		if err := bl.ExportPDF(finance, "2025-03", c.loc, &buf); err != nil {
			t.Fatalf("%s: %v", c.loc, err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
			t.Fatalf("%s: not a PDF", c.loc)
		}
		text := pdfText(t, buf.Bytes())
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q missing from\n%s", c.loc, w, text)
			}
		}
		if dir := os.Getenv("TEST_ARTIFACTS"); dir != "" {
			_ = os.WriteFile(dir+"/bulletin-"+c.loc+".pdf", buf.Bytes(), 0o644)
		}
	}
	wantCode(t, bl.ExportPDF(finance, "2025-03", "de", &bytes.Buffer{}), trcledger.EINVALID, "")
	wantCode(t, bl.ExportPDF(finance, "2025-02", "en", &bytes.Buffer{}), trcledger.ENOTFOUND, "")
}
