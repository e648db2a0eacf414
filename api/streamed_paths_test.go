package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/api"
)

// A route added beside the API (the web application's upload page) gets the long body timeout
// when Config.StreamedPaths names it; another added route keeps the short one (its body is
// not read whole).
func TestStreamedPathsGetTheLongBodyTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) {
		c.ShortBodyTimeout = time.Second
		c.StreamedPaths = []string{"POST /pages/upload"}
	})
	count := func(c *fiber.Ctx) error {
		var r io.Reader = bytes.NewReader(c.Body())
		if s := c.Context().RequestBodyStream(); s != nil {
			r = s
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return c.Status(fiber.StatusRequestTimeout).SendString(err.Error())
		}
		return c.SendString(fmt.Sprint(n))
	}
	e.srv.App.Post("/pages/upload", count)
	e.srv.App.Post("/pages/other", count)
	addr := e.listen(t)
	trickle := func(path string) (int, string) {
		pr, pw := io.Pipe()
		go func() {
			for range 5 {
				_, _ = io.WriteString(pw, "0123456789")
				time.Sleep(500 * time.Millisecond)
			}
			_ = pw.Close()
		}()
		req, _ := http.NewRequest("POST", "http://"+addr+path, pr)
		res, err := clientFrom("127.0.0.1").Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := trickle("/pages/upload"); status != 200 || body != "50" {
		t.Errorf("a streamed page trickling for 2.5 s: %d %s", status, body)
	}
	if status, body := trickle("/pages/other"); status == 200 && body == "50" {
		t.Errorf("another page trickling for 2.5 s with a short body timeout of 1 s was read whole: %d %s", status, body)
	}
}
