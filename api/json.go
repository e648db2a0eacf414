package api

import (
	"bytes"
	"encoding/json"
)

// encodeJSON is the JSON encoder of every answer: encoding/json without its HTML escaping, so
// that a detail reads "Bearer <token>" and not "Bearer \u003ctoken\u003e" (answers are
// application/json, never HTML), and without the newline json.Encoder ends with.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
