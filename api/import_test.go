package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/memtest"
)

func sampleFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../claims/testdata/encounters.csv")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// upload posts body to the import as the clinic with the given Content-Type.
func (e *env) upload(contentType string, body io.Reader) result {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/v1/encounters/import", body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens["clinic"])
	resp, err := e.srv.App.Test(req, 20000)
	if err != nil {
		e.t.Fatal(err)
	}
	return readResult(e.t, resp)
}

// form is a multipart/form-data body: fields first, then one file part per file (name,
// filename, content type, content).
func form(t *testing.T, fields map[string]string, files ...[4]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f[0]+`"; filename="`+f[1]+`"`)
		if f[2] != "" {
			h.Set("Content-Type", f[2])
		}
		part, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(part, f[3])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), &buf
}

// TestImportTakesAMultipartUpload: what curl -F and a browser form send is imported; any
// other body is 415 saying what to send.
func TestImportTakesAMultipartUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	csv := sampleFile(t)
	ct, body := form(t, nil, [4]string{"file", "encounters.csv", "application/octet-stream", csv}) // curl -F file=@encounters.csv
	if r := e.upload(ct, body); r.status != 200 || r.json["accepted"] != 8.0 {
		t.Fatalf("curl -F: %d %s", r.status, r.raw)
	}
	// A browser on Windows: a text field first, the file labelled as Excel's, under another name.
	ct, body = form(t, map[string]string{"month": "2025-03"}, [4]string{"upload", "ožujak.csv", "application/vnd.ms-excel", csv})
	if r := e.upload(ct, body); r.status != 200 || r.json["skipped"] != 8.0 {
		t.Fatalf("browser form: %d %s", r.status, r.raw)
	}
	ct, body = form(t, map[string]string{"month": "2025-03"})
	e.upload(ct, body).isProblem(t, 422)
	ct, body = form(t, nil, [4]string{"file", "mjesec.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK\x03\x04"})
	e.upload(ct, body).isProblem(t, 415)
	// Cut off before its closing boundary: the client is told, nothing is imported twice.
	ct, body = form(t, nil, [4]string{"file", "encounters.csv", "text/csv", strings.ReplaceAll(csv, "LIPA-2025-000", "LIPA-2025-100")})
	cut := body.Bytes()[:body.Len()-60]
	e.upload(ct, bytes.NewReader(cut)).isProblem(t, 400)
	e.upload("multipart/form-data", strings.NewReader(csv)).isProblem(t, 400)

	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "text/csv; charset=ebcdic", "text/csv; charset"} {
		r := e.upload(ct, strings.NewReader(csv))
		r.isProblem(t, 415)
		if d, _ := r.json["detail"].(string); !strings.Contains(d, "text/csv") && !strings.Contains(d, "windows-1250") {
			t.Errorf("%s: %s", ct, r.raw)
		}
		if ct == "application/json" && !strings.Contains(r.raw, "multipart/form-data") {
			t.Errorf("the 415 does not say what to send: %s", r.raw)
		}
	}
	if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
		t.Errorf("bad uploads logged as internal errors:\n%s", e.logs.String())
	}
}

// TestImportMemoryStaysBounded sends a 90 MB file through a socket, as text/csv and as a
// multipart upload: a 50 MB cell, one encounter repeated 300,000 times, then the sample. The
// sample is imported, every other row is rejected, and the server's heap stays small.
func TestImportMemoryStaysBounded(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.srv.App.Shutdown() })

	sample := sampleFile(t)
	header, rows, _ := strings.Cut(sample, "\n")
	header += "\n"
	hugeRow := "LIPA-2025-0009,IOM-DZBIH-2024,TRC-LIPA,SFA-2025-00090,irregular_migrant,M,1994,2025-03-03,consultation,J06.9,,,,\""
	hugeEnd := "\",,PZZ-01,1\n"
	chunk := strings.Repeat("x", 64<<10)
	const chunks = 800 // 50 MiB
	repeatRow := "LIPA-2025-0010,IOM-DZBIH-2024,TRC-LIPA,SFA-2025-00091,irregular_migrant,M,1994,2025-03-03,consultation,J06.9,,,,dr-hadzic,,PZZ-01,1\n"
	const repeats = 300_000
	fileLen := int64(len(header) + len(hugeRow) + chunks*len(chunk) + len(hugeEnd) + repeats*len(repeatRow) + len(rows))
	file := func() io.Reader {
		return io.MultiReader(strings.NewReader(header+hugeRow), &memtest.Repeated{S: chunk, N: chunks}, strings.NewReader(hugeEnd),
			&memtest.Repeated{S: repeatRow, N: repeats}, strings.NewReader(rows))
	}
	var prefix bytes.Buffer
	w := multipart.NewWriter(&prefix)
	if _, err := w.CreateFormFile("file", "encounters.csv"); err != nil {
		t.Fatal(err)
	}
	head := prefix.String()
	prefix.Reset()
	_ = w.Close()
	tail := prefix.String()

	for _, tc := range []struct {
		name, contentType string
		body              func() io.Reader
		size              int64
		want              string
	}{
		{"text/csv", "text/csv", file, fileLen, "accepted"},
		{"multipart/form-data", w.FormDataContentType(), func() io.Reader {
			return io.MultiReader(strings.NewReader(head), file(), strings.NewReader(tail))
		}, int64(len(head)) + fileLen + int64(len(tail)), "skipped"},
	} {
		var status int
		var res map[string]any
		grew := memtest.PeakHeap(func() {
			req, err := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/encounters/import", tc.body())
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tc.size
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Authorization", "Bearer "+e.tokens["clinic"])
			resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			status = resp.StatusCode
			_ = json.NewDecoder(resp.Body).Decode(&res)
		})
		t.Logf("%s: %d MB uploaded, the heap grew by %d MiB", tc.name, tc.size/1e6, grew>>20)
		if grew > 64<<20 {
			t.Errorf("%s: the heap grew by %d MiB", tc.name, grew>>20)
		}
		if status != 200 || res[tc.want] != 8.0 || res["rejected"] != float64(1+repeats) {
			t.Errorf("%s: %d accepted %v skipped %v rejected %v", tc.name, status, res["accepted"], res["skipped"], res["rejected"])
		}
	}
}

// TestImportLeavesNoBodyBehind: a streamed body the import does not read to its end (refused
// with 415 here) is not read as the next request on the connection; the connection is closed.
func TestImportLeavesNoBodyBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.srv.App.Shutdown() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := strings.Repeat("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", (3<<20)/35) // beyond the 2 MiB read before the handler
	go func() {
		_, _ = io.WriteString(conn, "POST /v1/encounters/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+e.tokens["clinic"]+
			"\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	}()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, _ := io.ReadAll(conn)
	if n := strings.Count(string(got), "HTTP/1.1 "); n != 1 || !strings.HasPrefix(string(got), "HTTP/1.1 415") {
		t.Errorf("%d answers to one request whose body was left unread:\n%.600s", n, got)
	}
}
