package encounters

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
)

// auditReplay records a replayed answer to a post or a void (the same Idempotency-Key and body
// again) as a read of each encounter it holds: the answer shows their diagnoses again, a
// patient-level read like GET /v1/encounters/{id}. res and err pass through unchanged, unless
// the audit entry cannot be written.
func (s *Service) auditReplay(ctx context.Context, res *claims.PostResult, err error) (*claims.PostResult, error) {
	if err != nil || res == nil || !res.Replayed {
		return res, err
	}
	var answer struct {
		ID         string `json:"id"`
		Encounters []struct {
			ID string `json:"id"`
		} `json:"encounters"`
	}
	if err := json.Unmarshal(res.Body, &answer); err != nil {
		return nil, fmt.Errorf("read the replayed answer: %w", err)
	}
	var ids []string
	if answer.ID != "" {
		ids = append(ids, answer.ID)
	}
	for _, e := range answer.Encounters {
		ids = append(ids, e.ID)
	}
	if err := access.RecordEach(ctx, s.db, "read", "encounter", ids); err != nil {
		return nil, err
	}
	return res, nil
}
