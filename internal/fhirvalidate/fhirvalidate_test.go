package fhirvalidate_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/internal/fhirvalidate"
)

// TestValidatorRefuses checks that the validator runs and refuses what is not FHIR R4, so
// that a pass elsewhere means something.
func TestValidatorRefuses(t *testing.T) {
	good := json.RawMessage(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://trcledger.example/fhir/sid/patient-key","value":"ab"}]}`)
	bad := []json.RawMessage{
		json.RawMessage(`{"resourceType":"Patient","id":"p2","name":"not a HumanName array","shoeSize":44}`),
		json.RawMessage(`{"resourceType":"Claim","id":"c1","status":"active"}`),
		json.RawMessage(`{"resourceType":"ClaimResponse","id":"r1","status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},"use":"claim","patient":{"reference":"Patient/p1"},"created":"2025-04-01T10:00:00Z","insurer":{"reference":"Organization/o"},"outcome":"complete","item":[{"itemSequence":1,"adjudication":[{"category":{"text":"benefit"},"amount":{"value":"20.00","currency":"BAM"}}]}]}`),
	}
	checked, failures, err := fhirvalidate.Validate(append([]json.RawMessage{good}, bad...))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if checked != 1+len(bad) {
		t.Fatalf("checked %d", checked)
	}
	refused := map[int]bool{}
	for _, f := range failures {
		refused[f.Index] = true
	}
	if refused[0] {
		t.Errorf("a valid Patient was refused: %v", failures)
	}
	for i := range bad {
		if !refused[i+1] {
			t.Errorf("resource %d was accepted: %s", i+1, bad[i])
		}
	}
}

// TestSchemaRefuses checks that the JSON schema catches what validateResource lets through: an
// id longer than 64 characters and a code outside a required binding's enumeration.
func TestSchemaRefuses(t *testing.T) {
	if _, err := fhirvalidate.Dir(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	problems, err := fhirvalidate.CheckSchema([]json.RawMessage{
		json.RawMessage(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://trcledger.example/fhir/sid/patient-key","value":"ab"}]}`),
		json.RawMessage(`{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`),
		json.RawMessage(`{"resourceType":"Patient","id":"p3","gender":"bogus"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 || strings.Contains(strings.Join(problems, " "), "(#0)") {
		t.Errorf("problems %q, want #1 and #2 only", problems)
	}
}
