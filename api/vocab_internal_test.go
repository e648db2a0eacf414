package api

import (
	"reflect"
	"strings"
	"testing"
)

// TestRequestTagsUseTheVocabularies: no request field repeats an enumeration in a oneof tag,
// and every vocab tag names a vocabulary, so the validator and the OpenAPI enums read the same
// declaration.
func TestRequestTagsUseTheVocabularies(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, where string)
	walk = func(typ reflect.Type, where string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tag := f.Tag.Get("validate")
			if strings.Contains(tag, "oneof=") {
				t.Errorf("%s.%s: oneof repeats a vocabulary; use vocab=NAME", where, f.Name)
			}
			for _, part := range strings.Split(tag, ",") {
				if name, ok := strings.CutPrefix(part, "vocab="); ok && vocabularies[name] == nil {
					t.Errorf("%s.%s: no vocabulary %q", where, f.Name, name)
				}
			}
			walk(f.Type, where+"."+f.Name)
		}
	}
	n := 0
	for _, r := range (&Server{}).routes() {
		if r.Body != nil {
			walk(reflect.TypeOf(r.Body), r.Method+" "+r.Path)
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d request bodies walked", n)
	}
}
