package api_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/api"
)

// TestUnreadBodiesAreNotReadAsRequests sends bodies that the server refuses before reading them
// to their end (too large, to an unknown route, without a token on the streamed import), each
// made of requests. What is left of a refused body must never be answered as requests of its own.
func TestUnreadBodiesAreNotReadAsRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.BodyLimit = 1024 })
	addr := e.listen(t)
	smuggled := strings.Repeat("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 2000) // about 70 KB
	for _, tt := range []struct{ name, head string }{
		{"too large", "POST /v1/encounters HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + e.tokens["clinic"] + "\r\n"},
		{"unknown route", "POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"},
		{"import without a token", "POST /v1/encounters/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"},
		{"import with a bad content type", "POST /v1/encounters/import HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nAuthorization: Bearer " + e.tokens["clinic"] + "\r\n"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			_, _ = fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\n%s", tt.head, len(smuggled), smuggled)
		}()
		got, _ := io.ReadAll(conn) // until the server closes the connection (or the deadline)
		conn.Close()
		if n := strings.Count(string(got), "HTTP/1.1 "); n != 1 {
			t.Errorf("%s: %d answers to one request; the body's contents were run as requests", tt.name, n)
		}
	}
}
