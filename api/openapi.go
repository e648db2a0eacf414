package api

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// The OpenAPI document is generated from the route list and the Go types of request and
// response bodies, so it cannot drift from what the handlers accept and return.

var (
	timeType    = reflect.TypeOf(time.Time{})
	stampType   = reflect.TypeOf(trcledger.Time{})
	dateType    = reflect.TypeOf(trcledger.Date{})
	decType     = reflect.TypeOf(decimal.Decimal{})
	amountType  = reflect.TypeOf(trcledger.Amount{})
	priceType   = reflect.TypeOf(trcledger.Price{})
	pathParamRe = regexp.MustCompile(`:([a-z_]+)`)
)

func (s *Server) openapi(c *fiber.Ctx) error {
	return c.JSON(s.openAPIDocument())
}

type schemas map[string]any

func (s *Server) openAPIDocument() map[string]any {
	comps := schemas{}
	paths := map[string]map[string]any{}
	for _, r := range s.routes() {
		path := pathParamRe.ReplaceAllString(r.Path, "{$1}")
		op := map[string]any{"summary": r.Summary, "operationId": operationID(r)}
		var params []any
		for _, m := range pathParamRe.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range r.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "required": q.Required, "description": q.Description, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.Roles != nil {
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			desc := "Roles: " + strings.Join(r.Roles, ", ")
			if r.Scope != "" {
				desc += ". Scope: " + r.Scope
			}
			op["description"] = desc
		}
		if r.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": comps.ref(reflect.TypeOf(r.Body))}}}
		}
		resp := map[string]any{"description": "success"}
		if r.Result != nil {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": comps.ref(reflect.TypeOf(r.Result))}}
		}
		responses := map[string]any{strconv.Itoa(r.Status): resp}
		for _, st := range []int{400, 401, 403, 404, 409, 413, 422, 429, 500} {
			if r.Roles == nil && (st == 401 || st == 403) {
				continue
			}
			responses[strconv.Itoa(st)] = map[string]any{"$ref": "#/components/responses/Problem"}
		}
		op["responses"] = responses
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(r.Method)] = op
	}
	comps["Problem"] = comps.schema(reflect.TypeOf(problem{}))
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "trcledger", "version": "1",
			"description": "Billing ledger of migrant health care in Bosnia and Herzegovina: encounters, tariffs, cost shares between IOM and the state, claims statements."},
		"paths": paths,
		"components": map[string]any{
			"schemas":         comps,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"responses": map[string]any{"Problem": map[string]any{"description": "RFC 9457 problem document",
				"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}},
		},
	}
}

func operationID(r route) string {
	p := strings.NewReplacer("/v1/", "", "/", "_", ":", "", "-", "_", ".", "_").Replace(r.Path)
	return strings.ToLower(r.Method) + "_" + strings.Trim(p, "_")
}

// ref returns a $ref to the named struct type's schema, defining it on first use.
func (c schemas) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isScalar(t) {
		return c.schema(t)
	}
	name := schemaName(t)
	if _, ok := c[name]; !ok {
		c[name] = nil // reserve: recursive types
		c[name] = c.schema(t)
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

// schema describes t: objects from json tags (required from validate:"required").
func (c schemas) schema(t reflect.Type) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	var s map[string]any
	switch t {
	case timeType, stampType:
		s = map[string]any{"type": "string", "format": "date-time", "example": "2026-12-01T12:00:00.123456Z"}
	case dateType:
		s = map[string]any{"type": "string", "format": "date", "example": "2025-03-15"}
	case amountType:
		s = map[string]any{"type": "string", "pattern": `^-?\d+\.\d{2}$`, "example": "25.00"}
	case priceType, decType, numType:
		s = map[string]any{"type": "string", "pattern": `^-?\d+(\.\d+)?$`, "example": "1.80"}
	}
	if s == nil {
		switch t.Kind() {
		case reflect.String:
			s = map[string]any{"type": "string"}
		case reflect.Bool:
			s = map[string]any{"type": "boolean"}
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8:
			s = map[string]any{"type": "integer"}
		case reflect.Slice:
			s = map[string]any{"type": "array", "items": c.ref(t.Elem())}
		case reflect.Map:
			s = map[string]any{"type": "object"}
		case reflect.Struct:
			s = c.object(t)
		default:
			s = map[string]any{}
		}
	}
	if nullable {
		s["nullable"] = true
	}
	return s
}

func (c schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
				walk(f.Type)
				continue
			}
			name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			if f.Type.Kind() == reflect.Struct && !isScalar(f.Type) || f.Type.Kind() == reflect.Slice {
				props[name] = c.ref(f.Type)
			} else {
				props[name] = c.schema(f.Type)
			}
			if strings.Contains(f.Tag.Get("validate"), "required") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	s := map[string]any{"type": "object", "properties": props}
	if required != nil {
		s["required"] = required
	}
	return s
}
