package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
)

// TestUploadRefusesManyFieldsBeforeItsFile: an upload is read as a stream up to its file part,
// with its CSRF token checked before the file; a form that sends many fields first is refused
// (400) before its file is read, on both upload pages.
func TestUploadRefusesManyFieldsBeforeItsFile(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	home := v.signIn("clinic")
	for _, path := range []string{"/clinic/upload", "/clinic/imports"} {
		var body bytes.Buffer
		fmt.Fprintf(&body, "--B\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n%s\r\n", csrfOf(home))
		for i := range 50 {
			fmt.Fprintf(&body, "--B\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nx\r\n", i)
		}
		body.WriteString("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nexternal_id\r\n--B--\r\n")
		req, _ := http.NewRequest("POST", s.base+path, &body)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		if p := v.do(req); p.status != http.StatusBadRequest {
			t.Errorf("%s with 50 fields before the file: %d, want 400", path, p.status)
		}
	}
}
