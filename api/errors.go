package api

import (
	"errors"
	"log/slog"
	"net/http"
	"sort"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
)

// statusOf maps an error code to its HTTP status.
var statusOf = map[string]int{
	trcledger.EINVALID:      http.StatusUnprocessableEntity,
	trcledger.EMALFORMED:    http.StatusBadRequest,
	trcledger.ENOTFOUND:     http.StatusNotFound,
	trcledger.ECONFLICT:     http.StatusConflict,
	trcledger.ESTATE:        http.StatusConflict,
	trcledger.EUNAUTHORIZED: http.StatusUnauthorized,
	trcledger.EFORBIDDEN:    http.StatusForbidden,
	trcledger.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	trcledger.ERATELIMIT:    http.StatusTooManyRequests,
	trcledger.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	trcledger.EUNAVAILABLE:  http.StatusServiceUnavailable,
	trcledger.EINTERNAL:     http.StatusInternalServerError,
}

// codeOf maps a status Fiber produces on its own (unknown route, body too large) to a code.
var codeOf = map[int]string{
	http.StatusBadRequest:            trcledger.EMALFORMED,
	http.StatusNotFound:              trcledger.ENOTFOUND,
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: trcledger.ETOOLARGE,
	http.StatusTooManyRequests:       trcledger.ERATELIMIT,
	http.StatusRequestTimeout:        reasonRequestTimeout,
	// fasthttp's own refusal of a request line and headers beyond ReadBufferSize.
	http.StatusRequestHeaderFieldsTooLarge: reasonHeadersTooLarge,
}

// problem is an RFC 9457 problem document. Its members keep this order in every answer, the
// members a service adds (existing_id, ...) coming last, sorted by name; errors_truncated and
// errors_total are there only when errors lists the first trcledger.MaxFieldErrors of more.
type problem struct {
	Type            string                 `json:"type"`
	Title           string                 `json:"title"`
	Status          int                    `json:"status"`
	Detail          string                 `json:"detail"`
	Code            string                 `json:"code"`
	Errors          []trcledger.FieldError `json:"errors"`
	ErrorsTruncated bool                   `json:"errors_truncated,omitempty"`
	ErrorsTotal     int                    `json:"errors_total,omitempty"`
	RequestID       string                 `json:"request_id"`
}

// encodeProblem writes p and then the extra members, in the order problem documents.
func encodeProblem(p problem, extra map[string]any) ([]byte, error) {
	b, err := encodeJSON(p)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	std := map[string]bool{"type": true, "title": true, "status": true, "detail": true, "code": true,
		"errors": true, "errors_truncated": true, "errors_total": true, "request_id": true}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !std[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	b = b[:len(b)-1] // the closing brace
	for _, k := range keys {
		kb, _ := encodeJSON(k)
		vb, err := encodeJSON(extra[k])
		if err != nil {
			return nil, err
		}
		b = append(append(append(append(b, ','), kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}

// errorHandler is the one place an error becomes a response: a trcledger.Error by its code,
// a Fiber error by its status, anything else a logged 500 with no details.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		id := requestID(c)
		if id == "" { // errors raised before any middleware ran (body too large)
			id = newRequestID()
			c.Set("X-Request-Id", id)
		}
		if c.Context().RequestBodyStream() != nil {
			// What is left of a body refused before it was read to its end would be read as the
			// next request on this connection: close it after this answer instead.
			c.Context().SetConnectionClose()
		}
		p := problem{Errors: []trcledger.FieldError{}, RequestID: id}
		var e *trcledger.Error
		var fe *fiber.Error
		switch {
		case errors.As(err, &e):
			p.Status = statusOf[e.Code]
			p.Code = e.Reason
			if p.Code == "" {
				p.Code = e.Code
			}
			p.Detail = e.Message
			if e.Fields != nil {
				p.Errors = e.Fields
			}
			if e.Truncated() {
				p.ErrorsTruncated, p.ErrorsTotal = true, e.Total
			}
		case errors.As(err, &fe) && fe.Code < 500:
			p.Status = fe.Code
			p.Code = codeOf[fe.Code]
			if p.Code == "" {
				p.Code = "http_error"
			}
			p.Detail = fe.Message
			if fe.Code == http.StatusNotFound {
				p.Detail = "no such resource: " + c.Method() + " " + c.Path()
			}
		}
		if p.Status == 0 || p.Status >= 500 {
			log.Error("internal error", "request_id", p.RequestID, "method", c.Method(), "route", routePath(c), "error", err.Error())
			p = problem{Status: 500, Code: trcledger.EINTERNAL, Detail: "internal error", Errors: []trcledger.FieldError{}, RequestID: p.RequestID}
		}
		p.Title = http.StatusText(p.Status)
		p.Type = "/problems/" + p.Code
		if p.Status == http.StatusUnauthorized {
			c.Set("WWW-Authenticate", `Bearer realm="trcledger"`)
		}
		var extra map[string]any
		if e != nil && p.Status < 500 {
			extra = e.Extra
		}
		body, err := encodeProblem(p, extra)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.Status(p.Status).Send(body)
	}
}
