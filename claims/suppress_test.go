package claims_test

import (
	"context"
	"testing"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// TestTransitionReportHidesWhatSubtractionWouldGiveAway: a client holding the ungrouped report
// (the month's totals) and the by-canton one (the canton's totals) must not be able to work out
// any suppressed count of a grouped report. In March 2025 of seedTransition, Blažuj's single
// patient was the month's 7 minus Una-Sana's 6, and the two one-patient providers were 7 minus
// DZ Bihać's 5. For every suppressed row of every answer, every way of filling in the hidden
// counts (patients at least 1, encounters at least patients) that adds up to every total the
// client has must leave it at least two possible values.
func TestTransitionReportHidesWhatSubtractionWouldGiveAway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedTransition(t, f)
	var sites []struct {
		Code   string `db:"code"`
		Canton string `db:"jurisdiction_code"`
	}
	if err := f.db.Select(&sites, `SELECT code, jurisdiction_code FROM sites`); err != nil {
		t.Fatal(err)
	}
	cantonOf := map[string]string{}
	for _, s := range sites {
		cantonOf[s.Code] = s.Canton
	}
	for _, kept := range []bool{false, true} {
		if kept {
			if _, err := f.svc.RefreshReports(context.Background(), 0, 0); err != nil {
				t.Fatal(err)
			}
		}
		for _, who := range []context.Context{as(access.RoleFinance, ""), as(access.RoleReviewer, demo.PayerIOM)} {
			report := func(by string) []claims.TransitionRow {
				t.Helper()
				r, err := f.svc.TransitionReport(who, claims.TransitionFilter{From: "2024-01", To: "2025-12", By: by})
				if err != nil {
					t.Fatal(err)
				}
				return r.Items
			}
			months, cantons := report(""), report(claims.ByCanton)
			for _, by := range []string{claims.ByCanton, claims.BySite, claims.ByProvider} {
				rows := report(by)
				// Every total the client knows, as the rows it adds up.
				var sums []knownSum
				for _, m := range months {
					if m.Patients == nil {
						continue
					}
					s := knownSum{patients: *m.Patients, encounters: *m.Encounters}
					for i, r := range rows {
						if r.Period == m.Period && r.Currency == m.Currency {
							s.rows = append(s.rows, i)
						}
					}
					sums = append(sums, s)
				}
				if by == claims.BySite {
					for _, c := range cantons {
						if c.Patients == nil {
							continue
						}
						s := knownSum{patients: *c.Patients, encounters: *c.Encounters}
						for i, r := range rows {
							if r.Period == c.Period && r.Currency == c.Currency && cantonOf[*r.Group] == *c.Group {
								s.rows = append(s.rows, i)
							}
						}
						sums = append(sums, s)
					}
				}
				for i, values := range possibleCounts(rows, sums) {
					if len(values) < 2 {
						r := rows[i]
						t.Errorf("kept=%v %v by %s: the suppressed %s %s can only be %v patients", kept, access.PrincipalFrom(who).Role, by, r.Period, *r.Group, values)
					}
				}
			}
		}
	}
}

type knownSum struct {
	rows                 []int
	patients, encounters int
}

// possibleCounts returns, for each suppressed row, the patient counts it can have given the
// shown rows and the known sums, by trying every filling in of the hidden counts, a month at a
// time (no sum spans two months).
func possibleCounts(rows []claims.TransitionRow, sums []knownSum) map[int]map[int]bool {
	out := map[int]map[int]bool{}
	months := map[string][]int{}
	for i, r := range rows {
		if r.Patients == nil {
			out[i] = map[int]bool{}
			months[r.Period+" "+r.Currency] = append(months[r.Period+" "+r.Currency], i)
		}
	}
	for month, hidden := range months {
		var mine []knownSum
		limit := claims.MinReportedPatients + 1 // enough to tell "only one value" from "several"
		for _, s := range sums {
			if len(s.rows) > 0 && rows[s.rows[0]].Period+" "+rows[s.rows[0]].Currency == month {
				mine = append(mine, s)
				limit = max(limit, s.encounters)
			}
		}
		pat, enc := map[int]int{}, map[int]int{}
		var try func(k int)
		try = func(k int) {
			if k == len(hidden) {
				for _, s := range mine {
					p, e := 0, 0
					for _, i := range s.rows {
						p, e = p+valueOr(rows[i].Patients, pat[i]), e+valueOr(rows[i].Encounters, enc[i])
					}
					if p != s.patients || e != s.encounters {
						return
					}
				}
				for _, i := range hidden {
					out[i][pat[i]] = true
				}
				return
			}
			i := hidden[k]
			for p := 1; p <= limit; p++ {
				pat[i] = p
				if shown := rows[i].Encounters; shown != nil {
					if p <= *shown {
						try(k + 1)
					}
					continue
				}
				for e := p; e <= limit; e++ {
					enc[i] = e
					try(k + 1)
				}
			}
		}
		try(0)
	}
	return out
}

func valueOr(shown *int, guess int) int {
	if shown != nil {
		return *shown
	}
	return guess
}
