package api_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// repeat returns n copies of el joined by commas.
func repeat(el string, n int) string {
	var b strings.Builder
	b.Grow(n * (len(el) + 1))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(el)
	}
	return b.String()
}

// allocated returns what do allocated (TotalAlloc, garbage included) and its answer.
func allocated(do func() result) (uint64, result) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := do()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, res
}

// Not parallel: TotalAlloc counts every goroutine, so no other test may run meanwhile.
func TestHugeBadBodiesCostLittleMemory(t *testing.T) {
	e := newEnv(t)
	const limit = 64 << 20 // well under the 256 MiB the server may use in all
	tests := []struct {
		name, path, who, body string
		field, message        string // the one error of a too_many_items answer; "" for a truncated list
	}{
		{"a million encounters", "/v1/encounters/batch", "clinic", `{"encounters":[` + repeat("1", 1_000_000) + `]}`,
			"encounters", "must have at most 1000 items"},
		{"150,000 unknown fields", "/v1/encounters", "clinic", func() string {
			var b strings.Builder
			b.WriteString("{")
			for i := 0; i < 150_000; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"f%d":1`, i)
			}
			return b.String() + "}"
		}(), "", ""},
		{"a million diagnoses", "/v1/encounters", "clinic", `{"diagnoses":[` + repeat("1", 1_000_000) + `]}`,
			"diagnoses", "must have at most 20 items"},
		{"a million decisions", "/v1/statements/0193b4c2-0000-7000-8000-000000000000/decisions", "reviewer",
			`{"decisions":[` + repeat("1", 1_000_000) + `]}`, "decisions", "must have at most 5000 items"},
		{"a million tariff items", "/v1/contracts/IOM-DZBIH-2024/tariffs", "admin",
			`{"effective_from":"2030-01-01","items":[` + repeat("1", 1_000_000) + `]}`, "items", "must have at most 500 items"},
		{"a million lines", "/v1/encounters", "clinic", `{"lines":[` + repeat("{}", 600_000) + `]}`,
			"lines", "must have at most 100 items"},
	}
	for _, tt := range tests {
		if len(tt.body) > 2<<20 {
			t.Fatalf("%s: the body is %d bytes, beyond the body limit", tt.name, len(tt.body))
		}
		alloc, res := allocated(func() result {
			return e.do("POST", tt.path, tt.who, tt.body, "Idempotency-Key", "huge")
		})
		t.Logf("%s: %d MiB allocated, %d bytes answered", tt.name, alloc>>20, len(res.raw))
		res.isProblem(t, 422)
		if alloc > limit {
			t.Errorf("%s: the request allocated %d MiB", tt.name, alloc>>20)
		}
		if len(res.raw) > 32<<10 {
			t.Errorf("%s: the answer is %d bytes", tt.name, len(res.raw))
		}
		errs, _ := res.json["errors"].([]any)
		if tt.field != "" {
			if res.json["code"] != "too_many_items" || len(errs) != 1 || !strings.Contains(res.raw, `{"field":"`+tt.field+`","message":"`+tt.message+`"}`) {
				t.Errorf("%s: %.400s", tt.name, res.raw)
			}
			continue
		}
		if len(errs) != 100 || res.json["errors_truncated"] != true || res.json["errors_total"].(float64) <= 100 {
			t.Errorf("%s: %d errors, truncated %v, total %v", tt.name, len(errs), res.json["errors_truncated"], res.json["errors_total"])
		}
	}
}

func TestErrorListIsCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 500 encounters that are not objects: a shape error each.
	res := e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat("1", 500)+`]}`, "Idempotency-Key", "cap")
	res.isProblem(t, 422)
	fields := res.fields()
	if len(fields) != 100 || fields[0] != "encounters[0]" || fields[99] != "encounters[99]" {
		t.Errorf("fields %d: %v", len(fields), fields)
	}
	if res.json["errors_truncated"] != true || res.json["errors_total"] != 101.0 {
		t.Errorf("truncated %v, total %v", res.json["errors_truncated"], res.json["errors_total"])
	}
	// 300 encounters that are objects but empty: validation stops at the cap too.
	res = e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat("{}", 300)+`]}`, "Idempotency-Key", "cap2")
	res.isProblem(t, 422)
	if len(res.fields()) != 100 || res.json["errors_truncated"] != true {
		t.Errorf("empty encounters: %d fields, %.300s", len(res.fields()), res.raw)
	}
	// 1000 valid-looking encounters with an unknown site each: the service's check is capped too.
	bad := strings.Replace(consultation, `"site_code":"TRC-LIPA"`, `"site_code":"MARS"`, 1)
	res = e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat(bad, 1000)+`]}`, "Idempotency-Key", "cap3")
	res.isProblem(t, 422)
	if len(res.fields()) != 100 || res.json["errors_truncated"] != true || res.fields()[0] != "encounters[0].site_code" {
		t.Errorf("unknown sites: %d fields, %.300s", len(res.fields()), res.raw)
	}
	// A short list says nothing of truncation; an element that is not an object is named once.
	res = e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[1,`+consultation+`,1]}`, "Idempotency-Key", "cap4")
	if strings.Contains(res.raw, "errors_truncated") || strings.Contains(res.raw, "errors_total") || !sameSet(res.fields(), []string{"encounters[0]", "encounters[2]"}) {
		t.Errorf("short list: %s", res.raw)
	}
}
