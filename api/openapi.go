package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// The OpenAPI document is generated from the route list and the Go types of request and
// response bodies, so it cannot drift from what the handlers accept and return. Enumerations
// come from the vocabularies (vocab.go), which also feed the validator. TestResponsesMatchTheContract
// checks every response of the api tests against it.

var (
	timeType    = reflect.TypeOf(time.Time{})
	stampType   = reflect.TypeOf(trcledger.Time{})
	dateType    = reflect.TypeOf(trcledger.Date{})
	decType     = reflect.TypeOf(decimal.Decimal{})
	amountType  = reflect.TypeOf(trcledger.Amount{})
	priceType   = reflect.TypeOf(trcledger.Price{})
	rawJSONType = reflect.TypeOf(json.RawMessage{})
	pathParamRe = regexp.MustCompile(`:([a-z_]+)`)
)

// Patterns of the values the API exchanges as strings.
const (
	datePattern   = `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
	monthPattern  = `^[0-9]{4}-(0[1-9]|1[0-2])$`
	amountPattern = `^-?[0-9]+\.[0-9]{2}$`
	signedDecimal = `^-?[0-9]+(\.[0-9]+)?$`
	// inputDecimal is what Num accepts from a client: every decimal the API takes is at least 0.
	inputDecimal = `^[0-9]{1,20}(\.[0-9]{1,20})?$`
)

func (s *Server) openapi(c *fiber.Ctx) error {
	return c.JSON(s.openAPIDocument())
}

// tagOf groups a path for the document's tags.
func tagOf(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/v1/"), "/")[0]
	switch seg {
	case "jurisdictions", "organizations", "sites", "services":
		return "reference"
	case "imports": // import jobs: encounters imported in the background
		return "encounters"
	case "contracts", "encounters", "ledger", "statements", "reports":
		return seg
	case "tokens", "audit", "users":
		return "access"
	}
	return "meta"
}

var tagDescriptions = []struct{ name, desc string }{
	{"meta", "Health, readiness and this document"},
	{"reference", "Jurisdictions, organizations, sites and the service catalogue"},
	{"contracts", "Contracts, their tariff versions and cost-share rules, quotes"},
	{"encounters", "What clinics post: encounters, batches, CSV imports, voids"},
	{"ledger", "The append-only double-entry journal"},
	{"statements", "Monthly claims statements: build, submit, review, pay, export"},
	{"reports", "The transition report and the reconciliation"},
	{"access", "Tokens and the audit log"},
}

// errorStatuses are the problem statuses an operation documents besides its success.
func errorStatuses(r route) []int {
	v1 := strings.HasPrefix(r.Path, "/v1/")
	out := []int{400, 405}
	if r.Roles != nil {
		out = append(out, 401, 403, 404)
	} else if strings.Contains(r.Path, ":") {
		out = append(out, 404)
	}
	if r.Method != "GET" {
		out = append(out, 409)
	}
	out = append(out, 413)
	if r.Stream {
		out = append(out, 408) // the streamed body stopped arriving (the import names the row it reached)
	}
	if len(r.Consumes) > 0 {
		out = append(out, 415)
	}
	if r.Roles != nil || r.Body != nil || r.Query != nil || r.Idempotency != idemNone {
		out = append(out, 422)
	}
	if v1 {
		out = append(out, 429)
	}
	out = append(out, 431, 500)
	if strings.HasPrefix(r.Path, "/v1/encounters") && r.Method == "POST" {
		// The writer answers 503 when nothing was written and the same request may be sent
		// again: the server is shutting down, or the contract or the external ids kept changing.
		out = append(out, 503)
	}
	slices.Sort(out)
	return out
}

func problemRef(status int) map[string]any {
	switch status {
	case 405:
		return map[string]any{"$ref": "#/components/responses/MethodNotAllowed"}
	case 429:
		return map[string]any{"$ref": "#/components/responses/TooManyRequests"}
	}
	return map[string]any{"$ref": "#/components/responses/Problem"}
}

func (s *Server) openAPIDocument() map[string]any {
	comps := schemas{defs: map[string]any{}, received: map[string]bool{}}
	paths := map[string]map[string]any{}
	ids := map[string]bool{}
	for _, r := range s.routes() {
		path := pathParamRe.ReplaceAllString(r.Path, "{$1}")
		id := operationID(r)
		if ids[id] {
			panic("openapi: duplicate operationId " + id)
		}
		ids[id] = true
		op := map[string]any{"summary": r.Summary, "operationId": id, "tags": []string{tagOf(r.Path)}}
		params := []any{}
		for _, m := range pathParamRe.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string", "minLength": 1}})
		}
		for _, q := range r.Query {
			p := map[string]any{"name": q.Name, "in": "query", "required": q.Required, "schema": q.schema()}
			if q.Description != "" {
				p["description"] = q.Description
			}
			params = append(params, p)
		}
		switch r.Idempotency {
		case idemRequired, idemOptional:
			desc := "A key unique to this request: the same key with the same body answers the first answer again; with another body, 409."
			if r.Idempotency == idemOptional {
				desc = "Optional. " + desc + " The answer is kept 7 days; after that the key answers 409 idempotency_key_expired and nothing is done again."
			}
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": r.Idempotency == idemRequired,
				"description": desc, "schema": map[string]any{"type": "string", "minLength": 1, "maxLength": 200}})
		}
		if r.ETag {
			params = append(params, map[string]any{"name": "If-None-Match", "in": "header", "required": false,
				"description": "The ETag of a copy the client holds: 304 when it is still current", "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Roles != nil {
			desc := "Roles: " + strings.Join(r.Roles, ", ")
			if r.Scope != "" {
				desc += ". Scope: " + r.Scope
			}
			op["description"] = desc + "."
		} else {
			op["security"] = []any{}
			op["description"] = "Public: no token."
		}
		switch {
		case r.Body != nil:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": comps.ref(reflect.TypeOf(r.Body), false)}}}
		case len(r.Consumes) > 0:
			content := map[string]any{}
			for _, ct := range r.Consumes {
				content[ct] = map[string]any{"schema": uploadSchema(ct)}
			}
			op["requestBody"] = map[string]any{"required": true, "content": content}
		}
		resp := map[string]any{"description": http.StatusText(r.Status)}
		switch {
		case r.Produces != "":
			resp["content"] = map[string]any{r.Produces: map[string]any{"schema": uploadSchema(r.Produces)}}
		case r.Result != nil:
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": comps.ref(reflect.TypeOf(r.Result), true)}}
		case r.Status != http.StatusNoContent:
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		}
		if r.ETag {
			resp["headers"] = map[string]any{"ETag": map[string]any{"description": "The version of this answer, for If-None-Match", "schema": map[string]any{"type": "string"}}}
		}
		responses := map[string]any{strconv.Itoa(r.Status): resp}
		if r.ETag {
			responses["304"] = map[string]any{"$ref": "#/components/responses/NotModified"}
		}
		if r.Path == "/readyz" {
			responses["503"] = map[string]any{"description": "The database does not answer",
				"content": map[string]any{"application/json": map[string]any{"schema": comps.ref(reflect.TypeOf(health{}), true)}}}
		}
		for _, st := range errorStatuses(r) {
			responses[strconv.Itoa(st)] = problemRef(st)
		}
		op["responses"] = responses
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(r.Method)] = op
	}
	comps.defs["Problem"] = problemSchema(comps)
	var tags []any
	for _, t := range tagDescriptions {
		tags = append(tags, map[string]any{"name": t.name, "description": t.desc})
	}
	problemContent := map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "trcledger", "version": "1",
			"description": "Billing ledger of migrant health care in Bosnia and Herzegovina: encounters, tariffs, cost shares between IOM and the state, claims statements.\n\n" +
				"Dates are YYYY-MM-DD, months YYYY-MM, amounts decimal strings with 2 decimals, timestamps RFC 3339 in UTC. " +
				"Answers may be compressed (Content-Encoding) when the request's Accept-Encoding allows it.",
			"license": map[string]any{"name": "Proprietary"}},
		"servers":  []any{map[string]any{"url": "/", "description": "The server that serves this document"}},
		"tags":     tags,
		"security": []any{map[string]any{"bearer": []string{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas":         comps.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "A token issued by POST /v1/tokens or `trcledger token create`"}},
			"responses": map[string]any{
				"Problem": map[string]any{"description": "An RFC 9457 problem document", "content": problemContent},
				"MethodNotAllowed": map[string]any{"description": "The path exists, but not with this method; Allow lists the methods it takes",
					"headers": map[string]any{"Allow": map[string]any{"required": true, "description": "The methods of the path", "schema": map[string]any{"type": "string"}}},
					"content": problemContent},
				"TooManyRequests": map[string]any{"description": "Too many requests (per token, or failed authentications per client address)",
					"headers": map[string]any{"Retry-After": map[string]any{"required": true, "description": "Seconds to wait", "schema": map[string]any{"type": "integer", "minimum": 0}}},
					"content": problemContent},
				"NotModified": map[string]any{"description": "The client's copy (If-None-Match) is current",
					"headers": map[string]any{"ETag": map[string]any{"description": "The version of the answer", "schema": map[string]any{"type": "string"}}}},
			},
		},
	}
}

// uploadSchema is the schema of a body that is not JSON.
func uploadSchema(contentType string) map[string]any {
	switch contentType {
	case "multipart/form-data":
		return map[string]any{"type": "object", "required": []string{"file"},
			"properties": map[string]any{"file": map[string]any{"type": "string", "format": "binary", "description": "The CSV file"}}}
	case "text/csv":
		return map[string]any{"type": "string", "description": "CSV with a header row"}
	case mimeFHIRJSON:
		return map[string]any{"type": "object", "required": []string{"resourceType"}, "description": "A FHIR R4 resource (docs/fhir.md)",
			"properties": map[string]any{"resourceType": map[string]any{"type": "string"}}}
	case mimeFHIRNDJSON:
		return map[string]any{"type": "string", "description": "FHIR R4 resources, one JSON object a line (docs/fhir.md)"}
	}
	return map[string]any{"type": "string", "format": "binary"}
}

// problemSchema is the problem document: problem's fields, all sent, plus the optional ones.
func problemSchema(comps schemas) map[string]any {
	s := comps.schema(reflect.TypeOf(problem{}), true)
	props := s["properties"].(map[string]any)
	props["status"] = map[string]any{"type": "integer", "minimum": 100, "maximum": 599}
	// Members only some problems carry: the cap of a long error list.
	if props["errors_truncated"] == nil {
		props["errors_truncated"] = map[string]any{"type": "boolean", "description": "the list of errors stops at its cap"}
	}
	if props["errors_total"] == nil {
		props["errors_total"] = map[string]any{"type": "integer", "minimum": 0, "description": "how many errors there were in all"}
	}
	s["required"] = slices.DeleteFunc(s["required"].([]string), func(n string) bool { return n == "errors_truncated" || n == "errors_total" })
	s["description"] = "RFC 9457. Some problems carry more members (e.g. conflicting_rule_id)."
	return s
}

func operationID(r route) string {
	p := strings.NewReplacer("/v1/", "", "/", "_", ":", "", "-", "_", ".", "_").Replace(r.Path)
	return strings.ToLower(r.Method) + "_" + strings.Trim(p, "_")
}

// schema returns the schema of a query parameter.
func (q param) schema() map[string]any {
	s := map[string]any{"type": "string"}
	switch q.Format {
	case fmtDate:
		s = map[string]any{"type": "string", "format": "date", "pattern": datePattern}
	case fmtMonth:
		s = map[string]any{"type": "string", "pattern": monthPattern}
	case fmtDecimal:
		s = map[string]any{"type": "string", "pattern": inputDecimal}
	case fmtTime:
		s = map[string]any{"type": "string", "pattern": `^[0-9]{4}-[0-9]{2}-[0-9]{2}(T.+)?$`, "description": "a date (YYYY-MM-DD) or an RFC 3339 time"}
	case fmtInteger:
		s = map[string]any{"type": "integer", "minimum": 1}
		if q.Max > 0 {
			s["maximum"] = q.Max
		}
	}
	if q.Vocab != "" {
		s["enum"] = vocabulary(q.Vocab)
	}
	if s["type"] == "string" && s["enum"] == nil {
		s["maxLength"] = 100
	}
	return s
}

// vocabulary returns the named vocabulary; an unknown name is a programming error.
func vocabulary(name string) []string {
	v, ok := vocabularies[name]
	if !ok {
		panic("openapi: unknown vocabulary " + name)
	}
	return v
}

// responseVocab names the vocabulary of response fields by their JSON name where the name
// says it alone; kind and status depend on the type (typeVocab).
var responseVocab = map[string]string{
	"currency": "currency", "beneficiary_category": "beneficiary_category", "sex": "sex",
	"decision": "decision", "reason_code": "reason_code", "payer_type": "payer_type", "level": "level",
	"unit": "unit", "category": "category", "service_category": "category", "method": "method",
	"role": "role", "to_level": "to_level", "flags": "flag", "statement_status": "statement_status",
}

var typeVocab = map[string]string{
	"ContractsOrganization.kind":      "organization_kind",
	"ContractsSite.kind":              "site_kind",
	"ContractsContract.status":        "contract_status",
	"ClaimsEncounter.kind":            "kind",
	"ClaimsEncounter.status":          "encounter_status",
	"ClaimsStatement.status":          "statement_status",
	"ClaimsDecided.status":            "statement_status",
	"ClaimsReconciliationItem.status": "statement_status",
	"ClaimsCap.period":                "cap_period",
	"ClaimsCap.mode":                  "cap_mode",
	"ClaimsAppeal.status":             "appeal_status",
	"ClaimsAppeal.reason":             "appeal_reason",
	"ClaimsAppeal.line_decision":      "decision",
	"ClaimsAppeal.line_reason_code":   "reason_code",
	"ClaimsPeriod.status":             "period_status",
	"ClaimsPeriodEvent.action":        "period_action",
}

// domainVocab names the vocabulary of request fields that the domain's Validate checks rather
// than the validator, so that one answer names them together with the codes only the
// database knows (contracts.Contract.Validate checks currency against contracts.Currencies).
var domainVocab = map[string]string{
	"ContractRequest.currency": "currency",
}

// requestFormats says which request strings are dates and months, by JSON name.
var requestFormats = map[string]string{
	"valid_from": fmtDate, "valid_to": fmtDate, "effective_from": fmtDate, "effective_to": fmtDate,
	"service_date": fmtDate, "paid_on": fmtDate, "period": fmtMonth, "expires_at": "date-time",
	"from": fmtDate, "to": fmtDate, // a repricing's range of service dates
	"captured_at": "date-time",
}

// typeFormats overrides requestFormats for one request type: a simulation's range is months.
var typeFormats = map[string]string{"SimulationRequest.from": fmtMonth, "SimulationRequest.to": fmtMonth}

// handlerRequired lists the request decimals (Num) that their handler requires (Num.Decimal
// with required true); the validator's tags cannot see into a Num.
var handlerRequired = map[string]bool{"LineRequest.quantity": true, "PaymentRequest.amount": true, "CapRequest.amount": true}

// requestBounds are the ranges of request integers that the domain checks.
var requestBounds = map[string]map[string]any{
	"basis_points": {"minimum": 0, "maximum": 10000},
	"birth_year":   {"minimum": 1900, "description": "at most this year"},
	"line_id":      {"minimum": 1},
}

// customJSON describes the fields that types with their own MarshalJSON write otherwise than
// reflection sees them; a type with a MarshalJSON not listed here stops the generator.
var customJSON = map[string]map[string]map[string]any{
	"LedgerTransaction": {"hash": {"type": "string", "nullable": true, "pattern": "^[0-9a-f]{64}$", "description": "the chain link, null until sealed"}},
	"LedgerPosting":     {"amount": {"type": "string", "pattern": amountPattern, "example": "-25.00"}},
}

var marshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()

// optionalInResponse lists response fields that not every caller receives.
func optionalInResponse(typeName, field string) bool {
	return typeName == "ClaimsStatementLine" && strings.HasPrefix(field, "decided_")
}

// schemas collects the component schemas; received marks those of request bodies.
type schemas struct {
	defs     map[string]any
	received map[string]bool
}

// ref returns a $ref to the named struct type's schema, defining it on first use; resp says
// whether the type is sent (every field present unless omitempty) or received (required from
// the validator's tags).
func (c schemas) ref(t reflect.Type, resp bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isScalar(t) {
		return c.schema(t, resp)
	}
	name := schemaName(t)
	if _, ok := c.defs[name]; !ok {
		c.defs[name] = nil // reserve: recursive types
		c.received[name] = !resp
		c.defs[name] = c.schema(t, resp)
	} else if c.received[name] == resp {
		panic(fmt.Sprintf("openapi: %s is both sent and received; give each its own type", name))
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func schemaName(t reflect.Type) string {
	n := t.Name()
	if i := strings.IndexByte(n, '['); i >= 0 { // list[pkg.T] -> TList
		inner := n[i+1 : len(n)-1]
		inner = inner[strings.LastIndexAny(inner, "./")+1:]
		return inner + "List"
	}
	pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
	if strings.HasSuffix(t.PkgPath(), "/claims/"+pkg) {
		// The packages of claims/ keep the names the document had before claims was split
		// into them (ClaimsEncounter, ClaimsStatement): clients generate code from them.
		pkg = "claims"
	}
	if pkg == "api" {
		return strings.ToUpper(n[:1]) + n[1:]
	}
	return strings.ToUpper(pkg[:1]) + pkg[1:] + n
}

func isScalar(t reflect.Type) bool {
	switch t {
	case timeType, stampType, dateType, decType, amountType, priceType, numType:
		return true
	}
	return false
}

// schema describes t: objects from json tags.
func (c schemas) schema(t reflect.Type, resp bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType, stampType:
		return map[string]any{"type": "string", "format": "date-time", "example": "2026-12-01T12:00:00.123456Z"}
	case dateType:
		return map[string]any{"type": "string", "format": "date", "pattern": datePattern, "example": "2025-03-15"}
	case amountType:
		return map[string]any{"type": "string", "pattern": amountPattern, "example": "25.00"}
	case priceType, decType:
		return map[string]any{"type": "string", "pattern": signedDecimal, "example": "1.80"}
	case numType:
		// Num keeps the exact text of a string or a number; the string is the documented form.
		return map[string]any{"description": "a decimal at least 0, best sent as a string (\"1.80\")", "oneOf": []any{
			map[string]any{"type": "string", "pattern": inputDecimal, "example": "1.80"},
			map[string]any{"type": "number", "minimum": 0},
		}}
	case rawJSONType:
		return map[string]any{"type": "object", "additionalProperties": true}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": c.ref(t.Elem(), resp)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": c.ref(t.Elem(), resp)}
	case reflect.Struct:
		return c.object(t, resp)
	}
	panic("openapi: no schema for " + t.String())
}

// validateTag splits a validator tag into its rules by name ("max=40" -> max: "40").
func validateTag(f reflect.StructField) map[string]string {
	rules := map[string]string{}
	for _, part := range strings.Split(f.Tag.Get("validate"), ",") {
		if part == "dive" {
			break // what follows is about the elements
		}
		k, v, _ := strings.Cut(part, "=")
		if k != "" {
			rules[k] = v
		}
	}
	return rules
}

func (c schemas) object(t reflect.Type, resp bool) map[string]any {
	typeName := schemaName(t)
	custom, ok := customJSON[typeName]
	if t.Implements(marshalerType) && !ok {
		panic("openapi: " + typeName + " has its own MarshalJSON: describe it in customJSON")
	}
	props := map[string]any{}
	required := []string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
				walk(f.Type)
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			omitted := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
			rules := validateTag(f)
			_, isRequired := rules["required"]
			if resp {
				isRequired = !omitted && !optionalInResponse(typeName, name)
			}
			ft := f.Type
			pointer := ft.Kind() == reflect.Pointer
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			var s map[string]any
			if ft.Kind() == reflect.Struct && !isScalar(ft) {
				s = c.ref(ft, resp)
			} else {
				s = c.schema(ft, resp)
			}
			// The enumeration, from the validator's tag (received) or the field's name (sent).
			vocab := rules["vocab"]
			if v := domainVocab[typeName+"."+name]; v != "" && vocab == "" {
				vocab = v
			}
			if resp {
				vocab = typeVocab[typeName+"."+name]
				if vocab == "" {
					vocab = responseVocab[name]
				}
			}
			if vocab != "" {
				if s["type"] == "array" {
					s["items"] = map[string]any{"type": "string", "enum": vocabulary(vocab)}
				} else {
					s["enum"] = vocabulary(vocab)
				}
			}
			if resp && s["type"] == "string" {
				switch {
				case name == "period" && s["enum"] == nil: // a cap's period is month, quarter or year
					s["pattern"] = monthPattern
				case name == "state_share" || strings.HasSuffix(name, "_percent"):
					s["pattern"], s["description"] = amountPattern, "a percentage with 2 decimals"
				}
			}
			if !resp && s["type"] == "string" && s["enum"] == nil {
				format := requestFormats[name]
				if f, ok := typeFormats[typeName+"."+name]; ok {
					format = f
				}
				switch format {
				case fmtDate:
					s["format"], s["pattern"] = "date", datePattern
				case fmtMonth:
					s["pattern"] = monthPattern
				case "date-time":
					s["format"] = "date-time"
				}
				if n, err := strconv.Atoi(rules["max"]); err == nil {
					s["maxLength"] = n
				}
			}
			if b, ok := requestBounds[name]; ok && !resp && s["type"] == "integer" {
				maps.Copy(s, b)
			}
			if !resp && s["type"] == "array" {
				if n, err := strconv.Atoi(rules["max"]); err == nil {
					s["maxItems"] = n
				}
				if n, err := strconv.Atoi(rules["min"]); err == nil {
					s["minItems"] = n
				}
			}
			// null: a pointer the server may leave unset, or a JSON object (audit detail)
			// that may be absent; never a required field received, nor an array sent.
			nullable := pointer && (resp || !isRequired) || ft == rawJSONType
			if !resp && ft == numType {
				isRequired = handlerRequired[typeName+"."+name]
				nullable = !isRequired // null is a missing value
			}
			if !resp && ft.Kind() == reflect.Slice && !isRequired {
				nullable = true
			}
			if nullable {
				if s["$ref"] != nil {
					s = map[string]any{"allOf": []any{s}, "nullable": true}
				} else {
					s["nullable"] = true
				}
			}
			if o := custom[name]; o != nil {
				s = maps.Clone(o)
			}
			props[name] = s
			if isRequired {
				required = append(required, name)
			}
		}
	}
	walk(t)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if !resp {
		// The decoder refuses unknown fields.
		s["additionalProperties"] = false
	}
	return s
}
