package api

import (
	"errors"
	"log/slog"
	"net/http"

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

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string                 `json:"type"`
	Title     string                 `json:"title"`
	Status    int                    `json:"status"`
	Detail    string                 `json:"detail"`
	Code      string                 `json:"code"`
	Errors    []trcledger.FieldError `json:"errors"`
	RequestID string                 `json:"request_id"`
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
		c.Status(p.Status)
		if e != nil && len(e.Extra) > 0 && p.Status < 500 {
			doc := map[string]any{}
			for k, v := range e.Extra {
				doc[k] = v
			}
			for k, v := range map[string]any{"type": p.Type, "title": p.Title, "status": p.Status, "detail": p.Detail,
				"code": p.Code, "errors": p.Errors, "request_id": p.RequestID} {
				doc[k] = v
			}
			return c.JSON(doc, "application/problem+json")
		}
		return c.JSON(p, "application/problem+json")
	}
}
