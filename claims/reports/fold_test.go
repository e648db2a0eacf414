package reports_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// TestFoldedReportMonthsEqualFullRecompute posts, voids, corrects, batches and imports in an
// order drawn from a seed, folding the changes into the kept rows at random points (and, in one
// phase, while the writers run), and at each checkpoint compares every kept row (every
// grouping, every payer scope, amounts and counts) with what recomputing the months whole
// gives, and the transition report of finance and of every payer's reviewer, under every
// grouping and with its suppression, folded, live and recomputed.
func TestFoldedReportMonthsEqualFullRecompute(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.Svc.FoldAlways()
			w := &foldWorld{t: t, f: f, r: rand.New(rand.NewPCG(seed, 11))}
			for round := 0; round < 4; round++ {
				for i := 0; i < 25; i++ {
					w.step()
				}
				w.checkFoldedEqualsRecomputed(fmt.Sprint("round ", round))
			}
			w.concurrently(4, 10)
			w.checkFoldedEqualsRecomputed("after concurrent writers and refreshers")
		})
	}
}

// foldWorld is what TestFoldedReportMonthsEqualFullRecompute has posted so far.
type foldWorld struct {
	t      *testing.T
	f      *fixture
	r      *rand.Rand
	mu     sync.Mutex
	n      int
	posted []postedRef // posted, not voided
	voided []postedRef // voided, not corrected yet
}

type postedRef struct {
	id, provider, ext string
	in                encounters.EncounterInput
}

// clinics are the providers the world posts for: their context, contract, sites and services.
var foldClinics = []struct {
	provider, contract string
	sites              []string
	services           []string
}{
	{demo.ProviderDZBihac, demo.ContractDZBihac, []string{"TRC-LIPA", "TRC-BORICI"}, []string{"PZZ-01", "PZZ-02", "PZZ-03", "LAB-01"}},
	{demo.ProviderDZKS, demo.ContractDZKS, []string{"TRC-BLAZUJ", "TRC-USIVAK"}, []string{"PZZ-01", "PZZ-03"}},
	{demo.ProviderKBBihac, demo.ContractKBBihac, []string{"TRC-LIPA"}, []string{"BOL-01", "PZZ-03"}},
}

// input draws an encounter: a patient from a small pool (so patients meet in many rows), one
// of four months, one to three lines.
func (w *foldWorld) input(r *rand.Rand, ext string) (context.Context, encounters.EncounterInput) {
	return w.inputOf(r, r.IntN(len(foldClinics)), ext)
}

// inputOf draws an encounter of the clinic foldClinics[ci].
func (w *foldWorld) inputOf(r *rand.Rand, ci int, ext string) (context.Context, encounters.EncounterInput) {
	c := foldClinics[ci]
	var lines []encounters.LineInput
	for range 1 + r.IntN(3) {
		svc := c.services[r.IntN(len(c.services))]
		if svc == "BOL-01" && len(lines) > 0 {
			continue // one hospital case a visit
		}
		lines = append(lines, encounters.LineInput{ServiceCode: svc, Quantity: dec("1")})
	}
	in := visit(ext, lines...)
	in.ContractCode, in.SiteCode = c.contract, c.sites[r.IntN(len(c.sites))]
	in.PatientID = fmt.Sprintf("FP-%d", r.IntN(9))
	in.ServiceDate = date(fmt.Sprintf("2025-%02d-%02d", 2+r.IntN(4), 1+r.IntN(28)))
	if c.contract == demo.ContractKBBihac {
		in.Referral = &encounters.Referral{Number: "UP-" + ext, ToLevel: "secondary"}
	}
	return as(access.RoleClinic, c.provider), in
}

func (w *foldWorld) nextExt() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	return fmt.Sprintf("F-%d", w.n)
}

// step does one thing drawn at random: post, post a batch, void, correct, import or refresh.
func (w *foldWorld) step() {
	t := w.t
	switch k := w.r.IntN(10); {
	case k < 3:
		w.post(w.r)
	case k == 3:
		ext := w.nextExt()
		var ins []encounters.EncounterInput
		ci := w.r.IntN(len(foldClinics))
		ctx := as(access.RoleClinic, foldClinics[ci].provider)
		for i := range 1 + w.r.IntN(4) {
			_, in := w.inputOf(w.r, ci, fmt.Sprintf("%s-%d", ext, i))
			ins = append(ins, in)
		}
		res, err := w.f.Svc.PostBatch(ctx, ins, key(ext))
		if err != nil {
			t.Fatalf("batch %s: %v", ext, err)
		}
		for i, e := range res.Encounters {
			w.posted = append(w.posted, postedRef{id: e.ID, provider: e.ProviderCode, ext: ins[i].ExternalID, in: ins[i]})
		}
	case k < 6:
		w.void(w.r)
	case k < 8:
		w.correct()
	case k == 8:
		w.importCSV()
	default:
		if _, err := w.f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *foldWorld) post(r *rand.Rand) {
	ext := w.nextExt()
	ctx, in := w.input(r, ext)
	res, err := w.f.Svc.PostEncounter(ctx, in, key(ext))
	if err != nil {
		w.t.Errorf("post %s: %v", ext, err)
		return
	}
	e := res.Encounters[0]
	w.mu.Lock()
	w.posted = append(w.posted, postedRef{id: e.ID, provider: e.ProviderCode, ext: ext, in: in})
	w.mu.Unlock()
}

// void voids a posted encounter drawn at random, keeping it to be corrected.
func (w *foldWorld) void(r *rand.Rand) {
	w.mu.Lock()
	if len(w.posted) == 0 {
		w.mu.Unlock()
		return
	}
	i := r.IntN(len(w.posted))
	p := w.posted[i]
	w.posted = append(w.posted[:i], w.posted[i+1:]...)
	w.mu.Unlock()
	if _, err := w.f.Svc.VoidEncounter(as(access.RoleClinic, p.provider), p.id, "wrong patient"); err != nil {
		w.t.Errorf("void %s: %v", p.ext, err)
		return
	}
	w.mu.Lock()
	w.voided = append(w.voided, p)
	w.mu.Unlock()
}

// correct posts the correction of the oldest voided encounter: its record number again, another
// patient and another day of the same month.
func (w *foldWorld) correct() {
	if len(w.voided) == 0 {
		return
	}
	p := w.voided[0]
	w.voided = w.voided[1:]
	in := p.in
	in.Corrects = &p.id
	in.PatientID = fmt.Sprintf("FP-%d", w.r.IntN(9))
	in.ServiceDate = date(p.in.ServiceDate.String()[:8] + fmt.Sprintf("%02d", 1+w.r.IntN(28)))
	res, err := w.f.Svc.PostEncounter(as(access.RoleClinic, p.provider), in, key("corr-"+p.id))
	if err != nil {
		w.t.Fatalf("correct %s: %v", p.ext, err)
	}
	e := res.Encounters[0]
	w.posted = append(w.posted, postedRef{id: e.ID, provider: e.ProviderCode, ext: p.ext, in: in})
}

// importCSV imports the sample file under fresh record numbers (8 encounters of DZ Bihać in
// March, over several categories).
func (w *foldWorld) importCSV() {
	b, err := os.ReadFile("../testdata/encounters.csv")
	if err != nil {
		w.t.Fatal(err)
	}
	ext := w.nextExt()
	csv := strings.ReplaceAll(string(b), "LIPA-2025-", ext+"-")
	res, err := w.f.Svc.Import(w.f.Clinic, strings.NewReader(csv))
	if err != nil || res.Accepted != 8 {
		w.t.Fatalf("import %s: %+v, %v", ext, res, err)
	}
}

// concurrently runs writers that post and void while a refresher folds the changes in a loop.
func (w *foldWorld) concurrently(writers, each int) {
	t := w.t
	ctx := context.Background()
	stop := make(chan struct{})
	refreshed := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				refreshed <- nil
				return
			default:
			}
			if _, err := w.f.Svc.RefreshReports(ctx, 0, 0); err != nil {
				refreshed <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func(r *rand.Rand) {
			defer wg.Done()
			for range each {
				w.post(r)
				if r.IntN(3) == 0 {
					w.void(r)
				}
			}
		}(rand.New(rand.NewPCG(uint64(i), 7)))
	}
	wg.Wait()
	close(stop)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
}

// keptRows lists every kept row of report_months, one line each.
func (w *foldWorld) keptRows() []string {
	var rows []string
	if err := w.f.DB.Select(&rows, `SELECT concat_ws(' ', period, grouping, payer_code, currency, grp, total, international, donor,
		state_fund, government, encounters, patients) FROM report_months ORDER BY period, grouping, payer_code, currency, grp`); err != nil {
		w.t.Fatal(err)
	}
	return rows
}

// checkFoldedEqualsRecomputed folds every change, then compares the kept rows and the reports
// with those of every month recomputed whole (the repair path: a mark in report_dirty).
func (w *foldWorld) checkFoldedEqualsRecomputed(what string) {
	t := w.t
	t.Helper()
	if _, err := w.f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if n := countMarked(t, w.f); n != 0 {
		t.Fatalf("%s: %d changes left after a refresh", what, n)
	}
	folded := w.keptRows()
	if len(folded) == 0 {
		t.Fatalf("%s: no kept rows", what)
	}
	live, kept, mixed := keptAndLive(t, w.f, "2025-01", "2025-12")
	sameLines(t, what+": kept rows folded against recomputed", folded, w.keptRows())
	for k, want := range live {
		sameLines(t, what+": "+k+" (folded)", mixed[k], want)
		sameLines(t, what+": "+k+" (recomputed)", kept[k], want)
	}
	var n int
	if err := w.f.DB.Get(&n, `SELECT count(*) FROM report_months WHERE period = '2025-03' AND grouping = $1`, reports.ByServiceCategory); err != nil || n == 0 {
		t.Errorf("%s: no March rows by category (%v)", what, err)
	}
}
