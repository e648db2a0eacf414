package encounters

import (
	"context"
	"time"
)

// SetImportChunk makes the service's imports post n encounters per transaction, so that a test
// file of a few rows spans several chunks.
func (s *Service) SetImportChunk(n int) { s.importChunk = n }

// StaleImportPricing makes every pricing of the encounter externalID in an import look older
// than its contract, so that the writer finds it stale each time.
func (s *Service) StaleImportPricing(externalID string) {
	s.agePricing = func(e *Encounter) {
		if e.ExternalID == externalID {
			e.contractRev = e.contractRev.Add(-time.Second)
		}
	}
}

// AcceptedPosts is how many single posts the group committer has accepted so far.
func (s *Service) AcceptedPosts() int64 { return s.group.accepted.Load() }

// WriteTest is one job for Write: a caller's encounters, priced as a post prices them.
type WriteTest struct {
	Caller context.Context
	Ins    []EncounterInput
	Idem   Idempotency
	Batch  bool
	Stale  bool // the contract changed after the job was priced
}

// WriteResult is what the writer made of one WriteTest.
type WriteResult struct {
	Outcome string
	Result  *PostResult
	Err     error
}

// Write prices the jobs and hands them to the writer in one call.
func (s *Service) Write(ctx context.Context, ts []WriteTest) ([]WriteResult, error) {
	jobs := make([]*writeJob, len(ts))
	for i, t := range ts {
		scope := idemScope(t.Caller)
		encs, err := s.validate(t.Caller, s.db, t.Ins, t.Batch)
		if err != nil {
			return nil, err
		}
		for _, e := range encs {
			if t.Stale {
				e.contractRev = e.contractRev.Add(-time.Second)
			}
		}
		jobs[i] = newJob(t.Caller, encs, scope, s.keys.Seal(scope, t.Idem), t.Batch)
	}
	if err := s.write(ctx, jobs); err != nil {
		return nil, err
	}
	out := make([]WriteResult, len(jobs))
	for i, j := range jobs {
		out[i] = WriteResult{Outcome: string(j.outcome), Result: j.res, Err: j.err}
	}
	return out, nil
}
