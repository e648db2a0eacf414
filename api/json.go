package api

import "github.com/trcledger/trcledger"

// encodeJSON is the JSON encoder of every answer (Fiber's JSONEncoder): trcledger.MarshalJSON,
// the one the stored answers of idempotent requests use too.
func encodeJSON(v any) ([]byte, error) { return trcledger.MarshalJSON(v) }
