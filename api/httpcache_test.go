package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// Item 20: answers of a few KiB and more are compressed for a client that accepts it; small
// ones, and the PDF export, are not.
func TestLargeAnswersAreCompressed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	plain := e.do("GET", "/v1/openapi.json", "", "")
	if plain.status != 200 || plain.header.Get("Content-Encoding") != "" || len(plain.raw) < 8<<10 {
		t.Fatalf("openapi without Accept-Encoding: %d %q %d bytes", plain.status, plain.header.Get("Content-Encoding"), len(plain.raw))
	}
	zipped := e.do("GET", "/v1/openapi.json", "", "", "Accept-Encoding", "gzip")
	if zipped.header.Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("openapi with Accept-Encoding gzip: Content-Encoding %q, Vary %q", zipped.header.Get("Content-Encoding"), zipped.header.Get("Vary"))
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped.raw))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, []byte(plain.raw)) {
		t.Errorf("the gzipped answer is not the plain one (%v)", err)
	}
	if len(zipped.raw)*3 > len(plain.raw) {
		t.Errorf("gzip made %d bytes of %d", len(zipped.raw), len(plain.raw))
	}
	if r := e.do("GET", "/v1/openapi.json", "", "", "Accept-Encoding", "gzip, deflate, br"); r.header.Get("Content-Encoding") != "br" {
		t.Errorf("with br accepted: Content-Encoding %q, want br", r.header.Get("Content-Encoding"))
	}
	if r := e.do("GET", "/healthz", "", "", "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" {
		t.Errorf("a %d-byte answer was compressed", len(r.raw))
	}
	// Lists are JSON like any answer: a month of encounters is compressed too.
	for i := 0; i < 20; i++ {
		body := strings.Replace(consultation, "LIPA-0001", fmt.Sprintf("GZ-%d", i), 1)
		if r := e.do("POST", "/v1/encounters", "clinic", body, "Idempotency-Key", fmt.Sprintf("gz-%d", i)); r.status != 201 {
			t.Fatalf("post: %s", r.raw)
		}
	}
	if r := e.do("GET", "/v1/encounters", "clinic", "", "Accept-Encoding", "gzip"); r.status != 200 || r.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("encounter list: %d, Content-Encoding %q", r.status, r.header.Get("Content-Encoding"))
	}
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	id := st.json["id"].(string)
	if r := e.do("GET", "/v1/statements/"+id+"/export.pdf", "finance", "", "Accept-Encoding", "gzip"); r.status != 200 || r.header.Get("Content-Encoding") != "" {
		t.Errorf("PDF export: %d, Content-Encoding %q, want none", r.status, r.header.Get("Content-Encoding"))
	}
}

// Item 20: reference data and the OpenAPI document carry an ETag and answer 304 to it; a change
// changes the tag.
func TestReferenceDataRevalidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ path, who string }{
		{"/v1/openapi.json", ""}, {"/v1/jurisdictions", "clinic"}, {"/v1/organizations", "reviewer"},
		{"/v1/organizations/DZ-BIHAC", "finance"}, {"/v1/sites", "clinic"}, {"/v1/services", "clinic"},
		{"/v1/contracts/IOM-DZBIH-2024/tariffs", "clinic"}, {"/v1/contracts/IOM-DZBIH-2024/cost-shares", "admin"},
	} {
		first := e.do("GET", c.path, c.who, "")
		tag := first.header.Get("ETag")
		if first.status != 200 || !strings.HasPrefix(tag, `W/"`) {
			t.Errorf("%s: %d, ETag %q", c.path, first.status, tag)
			continue
		}
		if cc := first.header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") || strings.Contains(cc, "no-store") {
			t.Errorf("%s: Cache-Control %q, want no-cache (kept, revalidated)", c.path, cc)
		}
		again := e.do("GET", c.path, c.who, "", "If-None-Match", `"other", `+tag)
		if again.status != 304 || again.raw != "" || again.header.Get("ETag") != tag {
			t.Errorf("%s with If-None-Match: %d %q, ETag %q; want 304, no body, the same tag", c.path, again.status, again.raw, again.header.Get("ETag"))
		}
		if r := e.do("GET", c.path, c.who, "", "If-None-Match", `W/"stale"`); r.status != 200 || r.raw != first.raw {
			t.Errorf("%s with a stale tag: %d", c.path, r.status)
		}
	}
	// Every route answered with an ETag documents If-None-Match and 304 (the route table says
	// both, so they cannot drift apart).
	doc := e.do("GET", "/v1/openapi.json", "", "").json["paths"].(map[string]any)
	for _, p := range []string{"/v1/organizations/{code}", "/v1/sites"} {
		op := doc[p].(map[string]any)["get"].(map[string]any)
		if _, ok := op["responses"].(map[string]any)["304"]; !ok {
			t.Errorf("OpenAPI: GET %s documents no 304", p)
		}
	}
	before := e.do("GET", "/v1/services", "clinic", "").header.Get("ETag")
	if r := e.do("POST", "/v1/services", "admin", `{"code":"NEW-01","name":"New","category":"primary_care","unit":"visit"}`); r.status != 201 {
		t.Fatalf("add service: %s", r.raw)
	}
	if r := e.do("GET", "/v1/services", "clinic", "", "If-None-Match", before); r.status != 200 || r.header.Get("ETag") == before {
		t.Errorf("after a new service: %d, ETag %q unchanged", r.status, before)
	}
	// A token is still needed to be told "not modified".
	tag := e.do("GET", "/v1/sites", "clinic", "").header.Get("ETag")
	e.do("GET", "/v1/sites", "", "", "If-None-Match", tag).isProblem(t, 401)
	// Other answers are not kept.
	if r := e.do("GET", "/v1/encounters", "clinic", ""); r.header.Get("ETag") != "" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("encounters: ETag %q, Cache-Control %q", r.header.Get("ETag"), r.header.Get("Cache-Control"))
	}
}

// Item 20: a statement's lines come a page at a time; the pages together are every line once.
func TestStatementLinesArePaged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 0; i < 7; i++ {
		body := strings.Replace(consultation, "LIPA-0001", fmt.Sprintf("PG-%d", i), 1)
		if r := e.do("POST", "/v1/encounters", "clinic", body, "Idempotency-Key", fmt.Sprintf("pg-%d", i)); r.status != 201 {
			t.Fatalf("post: %s", r.raw)
		}
	}
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st.status != 201 {
		t.Fatalf("statement: %s", st.raw)
	}
	id := st.json["id"].(string)
	whole := e.do("GET", "/v1/statements/"+id, "reviewer", "")
	all := whole.json["lines"].([]any)
	if whole.status != 200 || len(all) < 7 || whole.json["lines_next_cursor"] != nil {
		t.Fatalf("whole statement: %d, %d lines, next %v", whole.status, len(all), whole.json["lines_next_cursor"])
	}
	if _, ok := whole.json["lines_next_cursor"]; !ok {
		t.Error("lines_next_cursor is missing; want null on the last page")
	}
	var paged []any
	cursor, pages := "", 0
	for {
		path := "/v1/statements/" + id + "?lines_limit=3"
		if cursor != "" {
			path += "&lines_cursor=" + cursor
		}
		r := e.do("GET", path, "reviewer", "")
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.raw)
		}
		lines := r.json["lines"].([]any)
		if len(lines) > 3 || (len(lines) < 3 && r.json["lines_next_cursor"] != nil) {
			t.Fatalf("page %d: %d lines, next %v", pages, len(lines), r.json["lines_next_cursor"])
		}
		if r.json["claimed"] != whole.json["claimed"] || r.json["line_count"] != whole.json["line_count"] {
			t.Errorf("page %d: totals %v/%v differ from the whole statement's", pages, r.json["claimed"], r.json["line_count"])
		}
		paged = append(paged, lines...)
		pages++
		next, _ := r.json["lines_next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	want, _ := json.Marshal(all)
	got, _ := json.Marshal(paged)
	if !bytes.Equal(got, want) || pages != (len(all)+2)/3 {
		t.Errorf("%d pages of 3 hold %d lines; the whole statement has %d", pages, len(paged), len(all))
	}
	for _, q := range []string{"lines_limit=0", "lines_limit=1001", "lines_limit=x", "lines_cursor=nonsense", "lines_cursor=" + strings.Repeat("A", 200)} {
		r := e.do("GET", "/v1/statements/"+id+"?"+q, "reviewer", "")
		r.isProblem(t, 422)
	}
	// The exports still hold every line.
	csv := e.do("GET", "/v1/statements/"+id+"/export.csv", "finance", "")
	if n := strings.Count(strings.TrimSpace(csv.raw), "\n"); n != len(all) {
		t.Errorf("CSV export has %d lines, want %d", n, len(all))
	}
}
