package api

import (
	"errors"
	"io"
	"net"

	"github.com/gofiber/fiber/v2"
)

// bodyReader turns a failure to read a streamed request body into a client error: 408 when
// the body stopped arriving within the body timeout, 400 when the connection broke, rather
// than the 500 an unexplained read error would become. timedOut records the 408, for a
// handler that answers with an error of its own (the import, which names the row it reached).
type bodyReader struct {
	r        io.Reader
	timedOut bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == nil || errors.Is(err, io.EOF) {
		return n, err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		b.timedOut = true
		return n, fiber.NewError(fiber.StatusRequestTimeout, bodyTimedOut)
	}
	return n, fiber.NewError(fiber.StatusBadRequest, "the request body could not be read to its end")
}

const bodyTimedOut = "the request body stopped arriving before the body timeout"
