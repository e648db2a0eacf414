package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/trcledger/trcledger"
)

// FuzzDecodeEncounter feeds arbitrary bodies to the encounter decoder and validator: it must
// never panic, and anything it refuses is a 400 or a 422, never an internal error.
func FuzzDecodeEncounter(f *testing.F) {
	for _, seed := range []string{
		`{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"X","patient_id":"SFA-1","beneficiary_category":"unknown","service_date":"2025-03-15","kind":"consultation","diagnoses":["J06.9"],"lines":[{"service_code":"PZZ-01","quantity":"1"}]}`,
		`{"lines":[{"quantity":1e400},{"quantity":"-0.00001"},{"quantity":null}],"birth_year":99999999999999999999}`,
		`{"referral":{"number":5,"to_level":[]},"diagnoses":[1,2,{}],"sex":{}}`,
		`{"encounters":[{}]}`, `{ "a\u0062" : [ 1e5 , -0.5E-3, true, false, null, {"x": [[]]} ] , "lines" : [ ] }`, `[]`, `{`, `""`, `{"service_date":"2024-02-30"}`, "{\"patient_id\":\"\xff\xfe\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, decode := range []func() error{
			func() error {
				var req encounterRequest
				err := decodeBody(body, &req)
				var fs trcledger.Fields
				req.input(&fs, "")
				return err
			},
			func() error {
				var req batchRequest
				return decodeBody(body, &req)
			},
		} {
			err := decode()
			if err == nil {
				continue
			}
			var e *trcledger.Error
			if !errors.As(err, &e) || (e.Code != trcledger.EINVALID && e.Code != trcledger.EMALFORMED) {
				t.Fatalf("body %q: %v is neither 400 nor 422", body, err)
			}
			// The shape walk reads the bytes itself: it must take every JSON object for one.
			trimmed := bytes.TrimSpace(body)
			if e.Code == trcledger.EMALFORMED && json.Valid(body) && utf8.Valid(body) && len(trimmed) > 0 && trimmed[0] == '{' {
				t.Fatalf("body %q is a JSON object, yet: %v", body, err)
			}
		}
	})
}
