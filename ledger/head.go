package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/trcledger/trcledger"
)

// ChainHead is a link of the hash chain that something published names (a bulletin): its
// position (0 for an empty chain), the transaction it seals (null for position 0) and its hash
// in hex (the genesis hash, 32 zero bytes, for position 0).
type ChainHead struct {
	Position      int64  `json:"position"`
	TransactionID *int64 `json:"transaction_id"`
	Hash          string `json:"hash"`
}

// SealHead seals every transaction committed so far (as Seal does) and returns the newest link
// of the chain after that, so the head covers every transaction committed before the call (and
// perhaps a few committed while it ran). It returns wrapped database errors only.
func (j *Journal) SealHead(ctx context.Context) (ChainHead, error) {
	if _, err := j.Seal(ctx); err != nil {
		return ChainHead{}, err
	}
	var last struct {
		Position      int64  `db:"position"`
		TransactionID int64  `db:"transaction_id"`
		Hash          []byte `db:"hash"`
	}
	err := j.db.GetContext(ctx, &last, `SELECT position, transaction_id, hash FROM ledger_chain ORDER BY position DESC LIMIT 1`)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ChainHead{Hash: hex.EncodeToString(GenesisHash)}, nil
	case err != nil:
		return ChainHead{}, fmt.Errorf("read chain head: %w", err)
	}
	id := last.TransactionID
	return ChainHead{Position: last.Position, TransactionID: &id, Hash: hex.EncodeToString(last.Hash)}, nil
}

// VerifyHead recomputes the hash chain from its first link up to head.Position, from the stored
// transactions and postings in one snapshot, exactly as Verify does, and then checks that the
// link at that position is the published one (same transaction, same hash). It stops at the
// first bad link up to the head and names its transaction (the reasons of Verify); a fault in
// a link after the head is none of its business. When every link checks but the link at the
// position is not head, the chain was rewritten before the head: the reason says so and
// FirstBad is null. It seals nothing and reads no daily totals. A broken chain is a result
// with OK false; it returns EINVALID for a hash that is not 64 hex digits or a negative
// position, else wrapped database errors.
func (j *Journal) VerifyHead(ctx context.Context, head ChainHead) (VerifyResult, error) {
	want, err := hex.DecodeString(head.Hash)
	if err != nil || len(want) != len(GenesisHash) || head.Position < 0 {
		return VerifyResult{}, (&trcledger.Fields{}).AddErr("head", "must be a position of the chain and its SHA-256 hash in hex")
	}
	tx, err := j.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify chain head: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off`); err != nil {
		return VerifyResult{}, fmt.Errorf("verify chain head: %w", err)
	}
	v := verifier{prev: GenesisHash, totals: dayTotals{}}
	for v.position < head.Position {
		n, err := v.readBatch(ctx, tx)
		if err != nil {
			return VerifyResult{}, err
		}
		if v.bad != nil {
			if v.position >= head.Position {
				break // the bad link comes after the head
			}
			return *v.bad, nil
		}
		if n == 0 {
			return VerifyResult{TransactionsChecked: v.position,
				Reason: fmt.Sprintf("the chain ends at position %d, before the head at %d", v.position, head.Position)}, nil
		}
	}
	res := VerifyResult{OK: true, TransactionsChecked: head.Position}
	got, gotID := GenesisHash, int64(0)
	if head.Position > 0 {
		var link struct {
			TransactionID int64  `db:"transaction_id"`
			Hash          []byte `db:"hash"`
		}
		if err := tx.GetContext(ctx, &link, `SELECT transaction_id, hash FROM ledger_chain WHERE position = $1`, head.Position); err != nil {
			return VerifyResult{}, fmt.Errorf("verify chain head: read link %d: %w", head.Position, err)
		}
		got, gotID = link.Hash, link.TransactionID
	}
	var wantID int64
	if head.TransactionID != nil {
		wantID = *head.TransactionID
	}
	if !bytes.Equal(got, want) || gotID != wantID {
		res.OK = false
		res.Reason = fmt.Sprintf("the link at position %d is not the published head: the chain was rewritten before it", head.Position)
	}
	return res, nil
}
