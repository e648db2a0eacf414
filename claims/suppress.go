package claims

import "cmp"

// siteCanton is a site with the jurisdiction the report groups it under (by canton).
type siteCanton struct {
	Code   string `db:"code"`
	Canton string `db:"jurisdiction_code"`
}

// suppressSmallCounts hides the counts (patients and encounters: one encounter is one patient)
// of every row with fewer than MinReportedPatients patients: primary suppression. rows are the
// whole answer, every count set.
//
// In a grouped report that is not enough: the groups of a month add up to the month's row of
// the ungrouped report (one request away), so a month with one hidden group would give it away
// as the total minus the others, and two hidden groups of one patient each as well (each is at
// least 1). So, per sum a client can form, as long as it holds a single hidden count, or hidden
// counts that can only all be 1, the smallest shown group of the sum is hidden too
// (complementary suppression). The sums are the month (per currency) and, by site, the
// month's sites of one canton (their total is the canton's row of the by-canton report). A
// site alone in its canton shows its count there anyway, so it is no good as a complement and is
// taken only when nothing else is left. Counts of distinct patients are not always additive
// (one patient at two sites), so this is on the safe side.
func suppressSmallCounts(rows []TransitionRow, by string, sites []siteCanton) {
	hidden := make([]bool, len(rows))
	for i := range rows {
		if *rows[i].Patients < MinReportedPatients {
			hidden[i] = true
		}
	}
	if by != "" {
		complement(rows, hidden, margins(rows, by, sites))
	}
	for i := range rows {
		if hidden[i] {
			rows[i].Patients, rows[i].Encounters, rows[i].Suppressed = nil, nil, true
		}
	}
}

// margins returns the sums a client can form of the rows: the indices of each, in a fixed order.
func margins(rows []TransitionRow, by string, sites []siteCanton) [][]int {
	canton := map[string]string{}
	for _, s := range sites {
		canton[s.Code] = s.Canton
	}
	index := map[string]int{}
	var out [][]int
	add := func(key string, i int) {
		n, ok := index[key]
		if !ok {
			n = len(out)
			index[key] = n
			out = append(out, nil)
		}
		out[n] = append(out[n], i)
	}
	for i, r := range rows {
		month := r.Period + "\x00" + r.Currency
		add(month, i)
		if by == BySite {
			add(month+"\x00"+canton[groupName(r.Group)], i)
		}
	}
	return out
}

// complement hides more rows until no sum gives a hidden count away (see suppressSmallCounts).
func complement(rows []TransitionRow, hidden []bool, sums [][]int) {
	// pinned: the only row of a sub-sum (a site alone in its canton), whose count is shown
	// elsewhere when it is not small.
	pinned := make([]bool, len(rows))
	for _, m := range sums {
		if len(m) == 1 && *rows[m[0]].Patients >= MinReportedPatients {
			pinned[m[0]] = true
		}
	}
	exposed := func(m []int) bool {
		n, sum := 0, 0
		for _, i := range m {
			if hidden[i] && !pinned[i] {
				n, sum = n+1, sum+*rows[i].Patients
			}
		}
		return n == 1 || (n > 1 && sum == n)
	}
	for changed := true; changed; {
		changed = false
		for _, m := range sums {
			for len(m) > 1 && exposed(m) {
				next := -1
				for _, i := range m {
					if hidden[i] {
						continue
					}
					if next < 0 || cmp.Or(cmp.Compare(btoi(pinned[i]), btoi(pinned[next])), cmp.Compare(*rows[i].Patients, *rows[next].Patients)) < 0 {
						next = i
					}
				}
				if next < 0 {
					break
				}
				// A pinned row stays out of the unknowns: hiding it here hides nothing the
				// client cannot read elsewhere, so the loop goes on to the next row.
				hidden[next], changed = true, true
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
