package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// Num is a decimal sent as a JSON string ("1.50") or number (1.5), kept as its exact text so
// that no float is ever involved.
type Num struct {
	Text string
	Set  bool
}

// UnmarshalJSON keeps the text of a string or number; the shape check has refused anything else.
func (n *Num) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*n = Num{}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = Num{Text: s, Set: true}
	default:
		*n = Num{Text: string(b), Set: true}
	}
	return nil
}

var (
	numType     = reflect.TypeOf(Num{})
	decimalText = regexp.MustCompile(`^-?[0-9]{1,20}(\.[0-9]{1,20})?$`)
	validate    = newValidator()
)

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
		if name == "-" {
			return ""
		}
		return name
	})
	_ = v.RegisterValidation("vocab", inVocabulary)
	return v
}

// Decimal reads n as a decimal into f's field; a missing value is reported when required.
// It returns the value and whether it was present and well-formed.
func (n Num) Decimal(f *trcledger.Fields, field string, required bool) (decimal.Decimal, bool) {
	if !n.Set {
		if required {
			f.Add(field, "is required")
		}
		return decimal.Zero, false
	}
	if !decimalText.MatchString(n.Text) {
		f.Add(field, "must be a decimal number such as \"12.50\"")
		return decimal.Zero, false
	}
	d, err := decimal.NewFromString(n.Text)
	if err != nil {
		f.Add(field, "must be a decimal number such as \"12.50\"")
		return decimal.Zero, false
	}
	return d, true
}

// decodeJSON reads the request body into dst strictly and checks its validator tags. It returns
// EMALFORMED (400) when the body is not one JSON object, and EINVALID (422) naming every field
// of the wrong type, unknown, or failing a tag.
func decodeJSON(c *fiber.Ctx, dst any) error { return decodeBody(c.Body(), dst) }

// decodeBody is decodeJSON on the bytes of a body.
func decodeBody(body []byte, dst any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return trcledger.Errorf(trcledger.EMALFORMED, "the request body is empty; a JSON object is expected")
	}
	if body[0] != '{' {
		return trcledger.Errorf(trcledger.EMALFORMED, "the request body must be a JSON object")
	}
	if !utf8.Valid(body) {
		return trcledger.Errorf(trcledger.EMALFORMED, "the request body is not valid UTF-8")
	}
	if bytes.Contains(body, []byte(`\u0000`)) {
		return (&trcledger.Fields{}).AddErr("", "text must not contain NUL characters (\\u0000)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		return trcledger.Errorf(trcledger.EMALFORMED, "the request body holds more than one JSON value")
	}
	var f trcledger.Fields
	if err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			return trcledger.Errorf(trcledger.EMALFORMED, "the request body is not valid JSON (at byte %d)", syntax.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return trcledger.Errorf(trcledger.EMALFORMED, "the request body is not valid JSON (it ends too early)")
		}
		// A wrong type or unknown field: walk the whole document to name every one.
		var doc any
		d2 := json.NewDecoder(bytes.NewReader(body))
		d2.UseNumber()
		if err := d2.Decode(&doc); err != nil {
			return trcledger.Errorf(trcledger.EMALFORMED, "the request body is not valid JSON")
		}
		checkShape(&f, doc, reflect.TypeOf(dst).Elem(), "")
		if f.Len() == 0 {
			f.Add("", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if err := validate.Struct(dst); err != nil {
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) {
			for _, fe := range verrs {
				f.Add(fieldPath(fe.Namespace()), "%s", tagMessage(fe))
			}
		}
	}
	return f.Err()
}

// fieldPath turns the validator's namespace (request.lines[0].service_code) into the JSON path.
func fieldPath(ns string) string {
	if i := strings.IndexByte(ns, '.'); i >= 0 {
		return ns[i+1:]
	}
	return ns
}

func tagMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "max":
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("must have at most %s items", fe.Param())
		}
		return fmt.Sprintf("must be at most %s characters", fe.Param())
	case "min":
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("must have at least %s items", fe.Param())
		}
		return fmt.Sprintf("must be at least %s characters", fe.Param())
	case "oneof":
		return "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "vocab":
		return "must be one of " + strings.Join(vocabularies[fe.Param()], ", ")
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	}
	return "is invalid (" + fe.Tag() + ")"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkShape compares a generic JSON document with the Go type it should decode into and
// records every unknown field and every value of the wrong JSON type, with its full path.
func checkShape(f *trcledger.Fields, v any, t reflect.Type, path string) {
	if v == nil {
		return // null: a missing value, which the validator or the handler reports if required
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == numType {
		switch v.(type) {
		case string, json.Number:
		default:
			f.Add(path, "must be a decimal number such as \"12.50\"")
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			f.Add(path, "must be an object")
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if name := strings.SplitN(sf.Tag.Get("json"), ",", 2)[0]; name != "" && name != "-" {
				fields[name] = sf.Type
			}
		}
		for k, val := range obj {
			ft, known := fields[k]
			if !known {
				f.Add(join(path, k), "is not a known field")
				continue
			}
			checkShape(f, val, ft, join(path, k))
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			f.Add(path, "must be an array")
			return
		}
		for i, el := range arr {
			checkShape(f, el, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			f.Add(path, "must be a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			f.Add(path, "must be true or false")
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			f.Add(path, "must be an integer")
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, 32); err != nil {
			f.Add(path, "must be an integer")
		}
	}
}

// dateField parses an optional YYYY-MM-DD string into f's field.
func dateField(f *trcledger.Fields, field string, s *string, required bool) *trcledger.Date {
	if s == nil || *s == "" {
		if required {
			f.Add(field, "is required")
		}
		return nil
	}
	d, err := trcledger.ParseDate(*s)
	if err != nil {
		f.Add(field, "must be a real date written YYYY-MM-DD")
		return nil
	}
	return &d
}
