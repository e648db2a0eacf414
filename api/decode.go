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
	"sync"
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
// of the wrong type, unknown, or failing a tag, up to trcledger.MaxFieldErrors of them. An array
// longer than its field allows is EINVALID too_many_items, found before anything is built per
// element. An error whose list is truncated, or too_many_items, is final: fieldsOf hands it back
// as it is, so that the handler does not go on to check content.
func decodeJSON(c *fiber.Ctx, dst any) error { return decodeBody(c.Body(), dst) }

// escapesNUL reports whether a JSON text holds the escape \u0000 (a NUL character), reading
// escapes in order so that an escaped backslash followed by "u0000" (the text \u0000, no NUL)
// is not taken for one. Backslashes occur only inside strings in valid JSON; an invalid
// document is refused later by the walk anyway.
func escapesNUL(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return true
		}
		i++ // the escaped character, whatever it is, is not the start of another escape
	}
	return false
}

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
	if escapesNUL(body) {
		return (&trcledger.Fields{}).AddErr("", "text must not contain NUL characters (\\u0000)")
	}
	// First a walk over the bytes that compares the document with dst's type: it finds every
	// unknown field and wrong type, and counts array elements, without building anything per
	// element.
	var f trcledger.Fields
	w := shapeWalker{b: body, f: &f}
	err := w.walk(reflect.TypeOf(dst).Elem(), nil, 0)
	if errors.Is(err, errFull) {
		// Before answering the first hundred bad elements, look for an array too long: that
		// is the one thing to say then.
		c := shapeWalker{b: body, f: &trcledger.Fields{}, count: true}
		if errors.Is(c.walk(reflect.TypeOf(dst).Elem(), nil, 0), errTooMany) {
			w, err = c, errTooMany
		}
	}
	if err == nil && w.peek() != tokEOF {
		return trcledger.Errorf(trcledger.EMALFORMED, "the request body holds more than one JSON value")
	}
	switch {
	case err == nil:
	case errors.Is(err, errTooMany):
		var e *trcledger.Error
		errors.As((&trcledger.Fields{}).AddErr(w.tooMany.Field, "%s", w.tooMany.Message), &e)
		e.Reason = "too_many_items"
		e.Message = "an array of the request is longer than its field allows"
		return e
	case errors.Is(err, errFull):
		return f.Err()
	default: // errSyntax: json says where
		return malformed(json.Unmarshal(body, new(any)))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil && f.Len() == 0 {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return malformed(err)
		}
		f.Add("", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	validateCapped(&f, reflect.ValueOf(dst).Elem(), "")
	return f.Err()
}

func malformed(err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return trcledger.Errorf(trcledger.EMALFORMED, "the request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return trcledger.Errorf(trcledger.EMALFORMED, "the request body is not valid JSON (it ends too early)")
	}
	return trcledger.Errorf(trcledger.EMALFORMED, "the request body is not valid JSON")
}

// validateCapped checks v's validator tags into f under path. The elements of a slice of
// structs (encounters, decisions, items, shares) are checked one by one, so that it stops once
// f is full instead of building errors for a thousand elements first.
func validateCapped(f *trcledger.Fields, v reflect.Value, path string) {
	t := v.Type()
	var except []string
	for i := 0; i < t.NumField(); i++ {
		if sf := t.Field(i); isStructSlice(sf.Type) {
			except = append(except, sf.Name)
		}
	}
	if len(except) == 0 {
		addValidation(f, validate.Struct(v.Addr().Interface()), path)
		return
	}
	addValidation(f, validate.StructExcept(v.Addr().Interface(), except...), path)
	for i := 0; i < t.NumField() && !f.Full(); i++ {
		sf := t.Field(i)
		if !isStructSlice(sf.Type) {
			continue
		}
		name := join(path, jsonName(sf))
		if tag, _, _ := strings.Cut(sf.Tag.Get("validate"), ",dive"); tag != "" {
			var verrs validator.ValidationErrors
			if errors.As(validate.Var(v.Field(i).Interface(), tag), &verrs) {
				for _, fe := range verrs {
					f.Add(name, "%s", tagMessage(fe))
				}
			}
		}
		s := v.Field(i)
		for j := 0; j < s.Len() && !f.Full(); j++ {
			if p := name + "[" + strconv.Itoa(j) + "]"; !f.Has(p) { // not an object: nothing more to say
				addValidation(f, validate.Struct(s.Index(j).Addr().Interface()), p)
			}
		}
	}
}

func addValidation(f *trcledger.Fields, err error, path string) {
	var verrs validator.ValidationErrors
	if errors.As(err, &verrs) {
		for _, fe := range verrs {
			f.Add(join(path, fieldPath(fe.Namespace())), "%s", tagMessage(fe))
		}
	}
}

func isStructSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && t.Elem() != numType
}

func jsonName(sf reflect.StructField) string {
	return strings.SplitN(sf.Tag.Get("json"), ",", 2)[0]
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

// Caps of the shape walk.
const (
	// defaultMaxItems caps an array whose field has no max= tag.
	defaultMaxItems = 1000
	// maxSkipped caps the tokens of one unknown or wrongly typed value that the walk skips.
	maxSkipped = 10000
)

var (
	errSyntax  = errors.New("the body is not valid JSON")
	errFull    = errors.New("the list of field errors is full")
	errTooMany = errors.New("an array is longer than its field allows")
)

// shapeWalker compares a JSON document, token by token, with the Go type it should decode into:
// it records every unknown field and every value of the wrong JSON type with its full path,
// refuses an array longer than its field's max= tag as soon as it gets there, and stops once
// the list of field errors is full. It reads the bytes itself (json.Decoder.Token allocates and
// is ten times slower); json.Decoder, which runs after it, has the last word on syntax.
type shapeWalker struct {
	b       []byte
	i       int
	f       *trcledger.Fields
	count   bool                  // only count array elements; record no other problem
	tooMany *trcledger.FieldError // the array that ended the walk with errTooMany
}

// field is what the walk needs of a struct field.
type field struct {
	typ      reflect.Type
	maxItems int
}

var structFields sync.Map // reflect.Type -> map[string]field

func fieldsOfType(t reflect.Type) map[string]field {
	if m, ok := structFields.Load(t); ok {
		return m.(map[string]field)
	}
	m := map[string]field{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name := jsonName(sf)
		if name == "" || name == "-" {
			continue
		}
		fd := field{typ: sf.Type, maxItems: defaultMaxItems}
		tag, _, _ := strings.Cut(sf.Tag.Get("validate"), ",dive")
		for _, part := range strings.Split(tag, ",") {
			if n, ok := strings.CutPrefix(part, "max="); ok && sf.Type.Kind() == reflect.Slice {
				fd.maxItems, _ = strconv.Atoi(n)
			}
		}
		m[name] = fd
	}
	structFields.Store(t, m)
	return m
}

// Token kinds of the walk: the delimiters as themselves, and these.
const (
	tokString = '"'
	tokNumber = '0'
	tokBool   = 't'
	tokNull   = 'n'
	tokEOF    = 0
	tokBad    = 'x'
)

// next reads one token: its kind and, for a string, its raw text between the quotes.
func (w *shapeWalker) next() (byte, []byte) {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\n' || w.b[w.i] == '\r') {
		w.i++
	}
	if w.i >= len(w.b) {
		return tokEOF, nil
	}
	c := w.b[w.i]
	switch {
	case c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',':
		w.i++
		return c, nil
	case c == '"':
		start := w.i + 1
		for j := start; j < len(w.b); j++ {
			switch w.b[j] {
			case '\\':
				j++
			case '"':
				w.i = j + 1
				return tokString, w.b[start:j]
			}
		}
		return tokBad, nil
	case c == '-' || c >= '0' && c <= '9':
		for w.i < len(w.b) && strings.IndexByte("+-.0123456789eE", w.b[w.i]) >= 0 {
			w.i++
		}
		return tokNumber, nil
	case bytes.HasPrefix(w.b[w.i:], []byte("true")):
		w.i += 4
		return tokBool, nil
	case bytes.HasPrefix(w.b[w.i:], []byte("false")):
		w.i += 5
		return tokBool, nil
	case bytes.HasPrefix(w.b[w.i:], []byte("null")):
		w.i += 4
		return tokNull, nil
	}
	return tokBad, nil
}

// peek returns the kind of the next token without reading it.
func (w *shapeWalker) peek() byte {
	i := w.i
	k, _ := w.next()
	w.i = i
	return k
}

func (w *shapeWalker) bad(p *docPath, format string, args ...any) error {
	if w.count {
		return nil
	}
	w.f.Add(p.String(), format, args...)
	if w.f.Full() {
		return errFull
	}
	return nil
}

// member reads up to the next member of an object or element of an array whose opening token
// has been read: done at the closing token, else (for an object) the member's key, its colon read.
func (w *shapeWalker) member(close byte, n int) (key []byte, done bool, err error) {
	if w.peek() == close {
		w.next()
		return nil, true, nil
	}
	if n > 0 {
		if k, _ := w.next(); k != ',' {
			return nil, false, errSyntax
		}
	}
	if close == '}' {
		k, text := w.next()
		if k != tokString {
			return nil, false, errSyntax
		}
		if k, _ := w.next(); k != ':' {
			return nil, false, errSyntax
		}
		key = text
	}
	return key, false, nil
}

// docPath is where a value is in the document, built into a string only for an error message.
type docPath struct {
	parent *docPath
	name   []byte // a member's name, or nil for an element
	index  int
}

func (p *docPath) String() string {
	if p == nil {
		return ""
	}
	parent := p.parent.String()
	if p.name == nil {
		return parent + "[" + strconv.Itoa(p.index) + "]"
	}
	return join(parent, string(p.name))
}

// walk reads one value that should be of type t at p.
func (w *shapeWalker) walk(t reflect.Type, p *docPath, maxItems int) error {
	k, _ := w.next()
	switch k {
	case tokNull:
		return nil // a missing value, which the validator or the handler reports if required
	case tokEOF, tokBad, ',', ':', '}', ']':
		return errSyntax
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == numType {
		if k == tokString || k == tokNumber {
			return nil
		}
		return w.skip(k, p, "must be a decimal number such as \"12.50\"")
	}
	switch t.Kind() {
	case reflect.Struct:
		if k != '{' {
			return w.skip(k, p, "must be an object")
		}
		fields := fieldsOfType(t)
		for n := 0; ; n++ {
			key, done, err := w.member('}', n)
			if err != nil || done {
				return err
			}
			if bytes.IndexByte(key, '\\') >= 0 {
				var name string
				_ = json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &name)
				key = []byte(name)
			}
			child := docPath{parent: p, name: key}
			fd, known := fields[string(key)]
			if !known {
				k, _ := w.next()
				err = w.skip(k, &child, "is not a known field")
			} else {
				err = w.walk(fd.typ, &child, fd.maxItems)
			}
			if err != nil {
				return err
			}
		}
	case reflect.Slice:
		if k != '[' {
			return w.skip(k, p, "must be an array")
		}
		if maxItems <= 0 {
			maxItems = defaultMaxItems
		}
		for n := 0; ; n++ {
			_, done, err := w.member(']', n)
			if err != nil || done {
				return err
			}
			if n == maxItems {
				w.tooMany = &trcledger.FieldError{Field: p.String(), Message: fmt.Sprintf("must have at most %d items", maxItems)}
				return errTooMany
			}
			if err := w.walk(t.Elem(), &docPath{parent: p, index: n}, 0); err != nil {
				return err
			}
		}
	case reflect.String:
		if k != tokString {
			return w.skip(k, p, "must be a string")
		}
	case reflect.Bool:
		if k != tokBool {
			return w.skip(k, p, "must be true or false")
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if k != tokNumber {
			return w.skip(k, p, "must be an integer")
		}
		return w.integer(p)
	}
	return nil
}

// integer records at p when the number just read (it ends at w.i) is not a 32-bit integer.
func (w *shapeWalker) integer(p *docPath) error {
	j := w.i
	for j > 0 && strings.IndexByte("+-.0123456789eE", w.b[j-1]) >= 0 {
		j--
	}
	if _, err := strconv.ParseInt(string(w.b[j:w.i]), 10, 32); err != nil {
		return w.bad(p, "must be an integer")
	}
	return nil
}

// skip records the problem at p and reads past the rest of the value whose first token of
// kind k has been read; an object or array of more than maxSkipped tokens ends the walk.
func (w *shapeWalker) skip(k byte, p *docPath, problem string) error {
	if err := w.bad(p, "%s", problem); err != nil {
		return err
	}
	depth := 0
	if k == '{' || k == '[' {
		depth = 1
	}
	for n := 0; depth > 0; n++ {
		if n == maxSkipped {
			w.tooMany = &trcledger.FieldError{Field: p.String(), Message: fmt.Sprintf("holds more than %d values", maxSkipped)}
			return errTooMany
		}
		switch k, _ := w.next(); k {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case tokEOF, tokBad:
			return errSyntax
		}
	}
	return nil
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
