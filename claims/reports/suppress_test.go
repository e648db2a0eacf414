package reports_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// TestTransitionReportHidesWhatSubtractionWouldGiveAway: a client holding the ungrouped report
// (the month's totals), the by-canton one and the by-site one, all at once, must not be able to
// work out any suppressed count of any of them; nor, holding the ungrouped report and the
// by-provider one, any count of that. In March 2025 of seedTransition, Blažuj's single patient
// was the month's 7 minus Una-Sana's 6, and the two one-patient providers were 7 minus DZ
// Bihać's 5. In March 2025 of seedThreeCantons, Una-Sana's single patient was the month's 33
// minus Sarajevo's 20 minus the two Herzegovina-Neretva sites (6 + 6) of the by-site answer.
// For every suppressed row, every way of filling in the hidden counts (patients at least 1,
// encounters at least patients) that adds up to every total the client has must leave it at
// least two possible values.
func TestTransitionReportHidesWhatSubtractionWouldGiveAway(t *testing.T) {
	t.Parallel()
	for _, seed := range []struct {
		name string
		seed func(*testing.T, *fixture)
	}{{"seedTransition", seedTransition}, {"seedThreeCantons", seedThreeCantons}} {
		t.Run(seed.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			seed.seed(t, f)
			var sites []struct {
				Code   string `db:"code"`
				Canton string `db:"jurisdiction_code"`
			}
			if err := f.DB.Select(&sites, `SELECT code, jurisdiction_code FROM sites`); err != nil {
				t.Fatal(err)
			}
			cantonOf := map[string]string{}
			for _, s := range sites {
				cantonOf[s.Code] = s.Canton
			}
			for _, kept := range []bool{false, true} {
				if kept {
					if _, err := f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
						t.Fatal(err)
					}
				}
				for _, who := range []context.Context{as(access.RoleFinance, ""), as(access.RoleReviewer, demo.PayerIOM)} {
					report := func(by string) []reports.TransitionRow {
						t.Helper()
						r, err := f.Svc.TransitionReport(who, reports.TransitionFilter{From: "2024-01", To: "2025-12", By: by})
						if err != nil {
							t.Fatal(err)
						}
						return r.Items
					}
					what := fmt.Sprintf("kept=%v %v", kept, access.PrincipalFrom(who).Role)
					months := report("")
					checkUnderivable(t, what+" by canton and site", months, map[string][]reports.TransitionRow{
						reports.ByCanton: report(reports.ByCanton), reports.BySite: report(reports.BySite)}, cantonOf)
					checkUnderivable(t, what+" by provider", months, map[string][]reports.TransitionRow{
						reports.ByProvider: report(reports.ByProvider)}, cantonOf)
				}
			}
		})
	}
}

// seedThreeCantons posts, in March 2025, one patient at Lipa (Una-Sana), 5 at Blažuj and 15 at
// Ušivak (Sarajevo) and 6 at each of two sites added in Herzegovina-Neretva: the ungrouped
// report says 33, the by-canton one Sarajevo 20, and an answer by site that showed both
// Herzegovina-Neretva sites would give Una-Sana's hidden 1 away.
func seedThreeCantons(t *testing.T, f *fixture) {
	t.Helper()
	if _, err := f.DB.Exec(`INSERT INTO sites (code, name, kind, jurisdiction_code) VALUES
		('HNK-1', 'Health centre Mostar', 'health_facility', 'BA-FBIH-HNK'),
		('HNK-2', 'Health centre Konjic', 'health_facility', 'BA-FBIH-HNK')`); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range []struct {
		site     string
		patients int
	}{{"TRC-LIPA", 1}, {"TRC-BLAZUJ", 5}, {"TRC-USIVAK", 15}, {"HNK-1", 6}, {"HNK-2", 6}} {
		for range s.patients {
			n++
			in := visit(fmt.Sprintf("H-%d", n))
			in.ContractCode, in.SiteCode, in.PatientID, in.ServiceDate = demo.ContractDZBihac, s.site, fmt.Sprintf("HP%d", n), date("2025-03-10")
			if _, err := f.Svc.PostEncounter(f.Clinic, in, key(in.ExternalID)); err != nil {
				t.Fatalf("post %s: %v", in.ExternalID, err)
			}
		}
	}
}

// checkUnderivable fails for every suppressed row of months and grouped (by grouping) whose
// counts a client holding all of them can work out: per month and currency, the month's row is
// the sum of the rows of each grouping, and by site each canton's row the sum of its sites.
func checkUnderivable(t *testing.T, what string, months []reports.TransitionRow, grouped map[string][]reports.TransitionRow, cantonOf map[string]string) {
	t.Helper()
	type month struct{ period, currency string }
	type cellOf struct {
		grouping string
		row      reports.TransitionRow
	}
	cells := map[month][]cellOf{}
	for _, g := range []string{"", reports.ByCanton, reports.BySite, reports.ByProvider} {
		rows := months
		if g != "" {
			rows = grouped[g]
		}
		for _, r := range rows {
			m := month{r.Period, r.Currency}
			cells[m] = append(cells[m], cellOf{g, r})
		}
	}
	for m, cs := range cells {
		var pat, enc system
		for _, c := range cs {
			pat.known, enc.known = append(pat.known, c.row.Patients), append(enc.known, c.row.Encounters)
		}
		total := slices.IndexFunc(cs, func(c cellOf) bool { return c.grouping == "" })
		if total < 0 {
			t.Errorf("%s: %v has grouped rows but no total", what, m)
			continue
		}
		for g := range grouped {
			eq := []int{total}
			for i, c := range cs {
				if c.grouping == g {
					eq = append(eq, i)
				}
			}
			pat.eqs = append(pat.eqs, eq)
		}
		for i, c := range cs {
			if c.grouping != reports.ByCanton || grouped[reports.BySite] == nil {
				continue
			}
			eq := []int{i}
			for j, s := range cs {
				if s.grouping == reports.BySite && cantonOf[*s.row.Group] == *c.row.Group {
					eq = append(eq, j)
				}
			}
			pat.eqs = append(pat.eqs, eq)
		}
		enc.eqs = pat.eqs
		for i, values := range possiblePatients(pat, enc) {
			if len(values) < 2 {
				c := cs[i].row
				t.Errorf("%s: the suppressed %s %s %q can only be %v patients", what, c.Period, cs[i].grouping, groupName(c.Group), values)
			}
		}
	}
}

func groupName(g *string) string {
	if g == nil {
		return ""
	}
	return *g
}

// system is what a client knows of a month's counts (patients, or encounters): each cell's
// count, nil when hidden, and sums: eq[0] is the sum of eq[1:].
type system struct {
	known []*int
	eqs   [][]int
}

// solve calls yield with ways of filling in the hidden counts, each within its bounds lo and
// hi, that add up to every sum, until yield returns false (then solve does too); it tries the
// values nearest to near first. Each step fills in one count with every value in turn, and
// whatever a sum with one count left open then fixes; a sum that cannot be met within the
// bounds of its open counts ends the step.
func (s system) solve(lo, hi, near []int, yield func([]int) bool) bool {
	vals := make([]int, len(s.known)) // 0: not filled in yet
	for i, k := range s.known {
		if k != nil {
			if *k < lo[i] || *k > hi[i] {
				return true
			}
			vals[i] = *k
		}
	}
	// propagate fills in what the sums fix, recording it in set; false when a sum fails.
	propagate := func(set *[]int) bool {
		for changed := true; changed; {
			changed = false
			for _, eq := range s.eqs {
				open, n, sum, min, max := -1, 0, 0, 0, 0
				for _, i := range eq[1:] {
					if vals[i] == 0 {
						open, n, min, max = i, n+1, min+lo[i], max+hi[i]
					} else {
						sum += vals[i]
					}
				}
				parent := vals[eq[0]]
				switch {
				case parent == 0 && n == 0:
					if sum < lo[eq[0]] || sum > hi[eq[0]] {
						return false
					}
					vals[eq[0]], *set, changed = sum, append(*set, eq[0]), true
				case parent == 0:
					if sum+min > hi[eq[0]] || sum+max < lo[eq[0]] {
						return false
					}
				case sum+min > parent || sum+max < parent:
					return false
				case n == 1:
					vals[open], *set, changed = parent-sum, append(*set, open), true
				}
			}
		}
		return true
	}
	var fill func() bool
	fill = func() bool {
		var set []int
		defer func() {
			for _, i := range set {
				vals[i] = 0
			}
		}()
		if !propagate(&set) {
			return true
		}
		next := slices.Index(vals, 0)
		if next < 0 {
			return yield(vals)
		}
		for d := 0; near[next]-d >= lo[next] || near[next]+d <= hi[next]; d++ {
			vs := []int{near[next] + d, near[next] - d}
			if d == 0 {
				vs = vs[:1]
			}
			for _, v := range vs {
				if v < lo[next] || v > hi[next] {
					continue
				}
				vals[next] = v
				ok := fill()
				vals[next] = 0
				if !ok {
					return false
				}
			}
		}
		return true
	}
	return fill()
}

// possiblePatients returns, for each hidden cell, patient counts it can have: one, and a second
// one when there is one. A filling in of the patients is possible when a filling in of the
// encounters holds at least as many encounters as patients in every cell. Counts go up to the
// largest known one (and MinReportedPatients + 1 at least: enough to tell one value from
// several).
func possiblePatients(pat, enc system) map[int][]int {
	n := len(pat.known)
	limit := reports.MinReportedPatients + 1
	for i := range n {
		for _, k := range []*int{pat.known[i], enc.known[i]} {
			if k != nil {
				limit = max(limit, *k)
			}
		}
	}
	ones, limits := slices.Repeat([]int{1}, n), slices.Repeat([]int{limit}, n)
	near := slices.Clone(ones)
	possible := func(lo, hi []int) []int {
		var found []int
		pat.solve(lo, hi, near, func(p []int) bool {
			if enc.solve(p, limits, p, func([]int) bool { return false }) {
				return true // no encounters fit
			}
			found = slices.Clone(p)
			return false
		})
		return found
	}
	out := map[int][]int{}
	first := possible(ones, limits)
	for i, k := range pat.known {
		if k != nil {
			continue
		}
		if first == nil {
			out[i] = nil
			continue
		}
		out[i] = []int{first[i]}
		near = first
		lo, hi := slices.Clone(ones), slices.Clone(limits)
		for d := 1; first[i]-d >= 1 || first[i]+d <= limit; d++ {
			for _, v := range []int{first[i] + d, first[i] - d} {
				if v < 1 || v > limit || len(out[i]) > 1 {
					continue
				}
				lo[i], hi[i] = v, v
				if possible(lo, hi) != nil {
					out[i] = append(out[i], v)
				}
			}
			if len(out[i]) > 1 {
				break
			}
		}
	}
	return out
}

// TestSuppressionOfRandomMonths: for 1,000 random months of up to 4 cantons of up to 3 sites (and as
// many providers), no hidden count of the by-canton and by-site answers taken together with the
// ungrouped one, nor of the by-provider answer with the ungrouped one, can be worked out, and
// the by-canton and by-site answers hide the same cells.
func TestSuppressionOfRandomMonths(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(10, 10))
	count := func(n int) *int { return &n }
	for round := range 1000 {
		cantonOf := map[string]string{}
		var siteRows, cantonRows, providerRows []reports.TransitionRow
		total, desc := 0, ""
		for c := range 1 + rnd.IntN(4) {
			canton, sum := fmt.Sprintf("C%d", c), 0
			for s := range 1 + rnd.IntN(3) {
				site := fmt.Sprintf("C%dS%d", c, s)
				cantonOf[site] = canton
				n := 1 + rnd.IntN(12)
				if rnd.IntN(3) == 0 {
					n = 1 + rnd.IntN(4)
				}
				sum += n
				desc += fmt.Sprintf(" %s=%d", site, n)
				siteRows = append(siteRows, reports.TransitionRow{Period: "2025-03", Currency: "BAM", Group: &site, Patients: count(n), Encounters: count(n)})
				provider := fmt.Sprintf("P%d%d", c, s)
				providerRows = append(providerRows, reports.TransitionRow{Period: "2025-03", Currency: "BAM", Group: &provider, Patients: count(n), Encounters: count(n)})
			}
			total += sum
			cantonRows = append(cantonRows, reports.TransitionRow{Period: "2025-03", Currency: "BAM", Group: &canton, Patients: count(sum), Encounters: count(sum)})
		}
		month := reports.TransitionRow{Period: "2025-03", Currency: "BAM", Patients: count(total), Encounters: count(total)}
		answer := func(by string, rows []reports.TransitionRow) map[string][]reports.TransitionRow {
			out := map[string][]reports.TransitionRow{"": {month}, reports.ByCanton: slices.Clone(cantonRows), reports.BySite: slices.Clone(siteRows)}
			if by == reports.ByProvider {
				out = map[string][]reports.TransitionRow{"": {month}, by: slices.Clone(rows)}
			}
			reports.SuppressSmallCounts(out, by, cantonOf)
			return out
		}
		byCanton, bySite := answer(reports.ByCanton, nil), answer(reports.BySite, nil)
		if hiddenOf(byCanton) != hiddenOf(bySite) {
			t.Fatalf("round %d: by canton and by site disagree:\n%v\n%v", round, byCanton, bySite)
		}
		what := fmt.Sprintf("round %d (sites%s)", round, desc)
		checkUnderivable(t, what, byCanton[""], map[string][]reports.TransitionRow{reports.ByCanton: byCanton[reports.ByCanton], reports.BySite: bySite[reports.BySite]}, cantonOf)
		byProvider := answer(reports.ByProvider, providerRows)
		checkUnderivable(t, what, byProvider[""], map[string][]reports.TransitionRow{reports.ByProvider: byProvider[reports.ByProvider]}, cantonOf)
		for g, rows := range byCanton {
			for _, r := range rows {
				if (r.Patients == nil) != r.Suppressed || (r.Encounters == nil) != r.Suppressed {
					t.Fatalf("round %d: %s %q half suppressed", round, g, groupName(r.Group))
				}
			}
		}
	}
}

// hiddenOf lists the suppressed rows of an answer's groupings.
func hiddenOf(rows map[string][]reports.TransitionRow) string {
	var out []string
	for _, g := range []string{"", reports.ByCanton, reports.BySite, reports.ByProvider} {
		for _, r := range rows[g] {
			if r.Suppressed {
				out = append(out, g+":"+groupName(r.Group))
			}
		}
	}
	return fmt.Sprint(out)
}
