package claims

// SetImportChunk makes the service's imports post n encounters per transaction, so that a test
// file of a few rows spans several chunks.
func (s *Service) SetImportChunk(n int) { s.importChunk = n }
