package claims

// SetImportChunk makes the service's imports post n encounters per transaction, so that a test
// file of a few rows spans several chunks.
func (s *Service) SetImportChunk(n int) { s.importChunk = n }

// SuppressSmallCounts is suppressSmallCounts for the brute-force tests, the sites given as a
// map from site to canton.
func SuppressSmallCounts(rows map[string][]TransitionRow, by string, cantonOf map[string]string) {
	var sites []siteCanton
	for s, c := range cantonOf {
		sites = append(sites, siteCanton{s, c})
	}
	suppressSmallCounts(rows, by, sites)
}
