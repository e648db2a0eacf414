package trcledger

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON is the JSON of every answer the service gives, live or stored for a replay:
// encoding/json without its HTML escaping, so that a detail reads "Bearer <token>" and a note
// "a<b" rather than "\u003c" (answers are application/json, never HTML), and without the newline
// json.Encoder ends with. A replayed answer is byte for byte the live one.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
