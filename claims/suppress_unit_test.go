package claims

import (
	"strings"
	"testing"
)

func TestSuppressSmallCounts(t *testing.T) {
	sites := []siteCanton{{"LIPA", "USK"}, {"BORICI", "USK"}, {"BLAZUJ", "KS"}}
	for _, tt := range []struct {
		name, by string
		groups   string // group=patients ...
		want     string // the groups left shown
	}{
		{"ungrouped: nothing to subtract from", "", "=3", ""},
		{"one hidden group: the smallest shown one too", ByProvider, "A=1 B=9 C=20", "C"},
		{"hidden groups of one patient each: 2 = 1 + 1", ByProvider, "A=1 B=1 C=30 D=40", "D"},
		{"two hidden groups that are not all ones", ByProvider, "A=1 B=3 C=30", "C"},
		{"nothing small, nothing hidden", ByProvider, "A=5 B=6", "A B"},
		{"a single group is the month itself", ByProvider, "A=2", ""},
		{"by site, a canton's sites add up to the canton", BySite, "LIPA=2 BORICI=10 BLAZUJ=30", "BLAZUJ"},
		{"by site, a site alone in its canton is no complement", BySite, "LIPA=2 BLAZUJ=30", ""},
		{"by site, the other canton's site stays", BySite, "LIPA=2 BORICI=8 BLAZUJ=9", "BLAZUJ"},
	} {
		var rows []TransitionRow
		for _, g := range strings.Fields(tt.groups) {
			name, n, _ := strings.Cut(g, "=")
			patients, encounters := 0, 0
			for _, c := range n {
				patients = patients*10 + int(c-'0')
			}
			encounters = patients
			r := TransitionRow{Period: "2025-03", Currency: "BAM", Patients: &patients, Encounters: &encounters}
			if tt.by != "" {
				r.Group = &name
			}
			rows = append(rows, r)
		}
		suppressSmallCounts(rows, tt.by, sites)
		var shown []string
		for _, r := range rows {
			if r.Suppressed != (r.Patients == nil) || r.Suppressed != (r.Encounters == nil) {
				t.Errorf("%s: row %v half suppressed", tt.name, groupName(r.Group))
			}
			if !r.Suppressed {
				shown = append(shown, groupName(r.Group))
			}
		}
		if got := strings.Join(shown, " "); got != tt.want {
			t.Errorf("%s: shown %q, want %q", tt.name, got, tt.want)
		}
	}
}
