package ledger

// SetSealBatch makes Seal link at most n transactions per database transaction, so tests can
// cross batch boundaries with a few transactions.
func (j *Journal) SetSealBatch(n int) { j.batch = n }
