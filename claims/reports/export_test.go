package reports

// SuppressSmallCounts is suppressSmallCounts for the brute-force tests, the sites given as a
// map from site to canton.
func SuppressSmallCounts(rows map[string][]TransitionRow, by string, cantonOf map[string]string) {
	var sites []siteCanton
	for s, c := range cantonOf {
		sites = append(sites, siteCanton{s, c})
	}
	suppressSmallCounts(rows, by, sites)
}

// FoldAlways makes the refresher fold every month's changes, however many, rather than
// recompute a month whose changes are a large part of it: the tests compare the two.
func (s *Service) FoldAlways() { s.foldAlways = true }
