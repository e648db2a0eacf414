package api

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// compressMin is the smallest answer worth compressing: below a few KiB the saving is a
// packet or less and not worth the CPU.
const compressMin = 4 << 10

// compressor compresses a finished response with brotli or gzip, whichever the client names
// (brotli first), and adds Vary: Accept-Encoding.
var compressor = fasthttp.CompressHandlerBrotliLevel(func(*fasthttp.RequestCtx) {},
	fasthttp.CompressBrotliDefaultCompression, fasthttp.CompressDefaultCompression)

// compressible reports whether answers of this content type are compressed: JSON (answers and
// problem documents) and CSV exports. Not the PDF export, whose content is already deflated.
func compressible(contentType []byte) bool {
	ct, _, _ := strings.Cut(string(contentType), ";")
	switch strings.TrimSpace(ct) {
	case fiber.MIMEApplicationJSON, "application/problem+json", "text/csv", mimeFHIRJSON,
		fiber.MIMETextHTML, "text/css", fiber.MIMETextJavaScript, "application/javascript", "image/svg+xml":
		return true
	}
	return false
}

// compress compresses answers of compressMin bytes or more when the client accepts br or gzip.
// It runs outside logRequests, so that problem documents are already written.
func compress(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		return err
	}
	resp := c.Response()
	if resp.IsBodyStream() || len(resp.Body()) < compressMin || !compressible(resp.Header.ContentType()) {
		return nil
	}
	c.Vary(fiber.HeaderAcceptEncoding)
	compressor(c.Context())
	return nil
}

// etag gives a 200 answer a weak ETag, a digest of its (uncompressed) body, lets the client
// keep it (Cache-Control: no-cache, private where a token was needed) and answers 304 without
// a body when If-None-Match names it. Weak, because the compressed and plain answers share it.
func etag(public bool) fiber.Handler {
	cacheControl := "private, no-cache"
	if public {
		cacheControl = "no-cache"
	}
	return func(c *fiber.Ctx) error {
		if err := c.Next(); err != nil {
			return err
		}
		if c.Response().StatusCode() != fiber.StatusOK {
			return nil
		}
		sum := sha256.Sum256(c.Response().Body())
		tag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		c.Set(fiber.HeaderETag, tag)
		c.Set(fiber.HeaderCacheControl, cacheControl)
		if etagMatches(c.Get(fiber.HeaderIfNoneMatch), tag) {
			c.Context().ResetBody()
			c.Status(fiber.StatusNotModified)
		}
		return nil
	}
}

// etagMatches applies If-None-Match's weak comparison: any listed tag, or *, equal to tag
// once W/ is set aside.
func etagMatches(header, tag string) bool {
	if header == "" {
		return false
	}
	tag = strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}
