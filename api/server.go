// Package api is the HTTP face of trcledger: a Fiber app whose routes are all listed in
// routes.go, with one error handler that writes RFC 9457 problem documents.
package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/metrics"
	"github.com/trcledger/trcledger/ledger"
)

// Config is what the server is built from.
type Config struct {
	Contracts *contracts.Store
	// Encounters, Statements and Reports are the three services of claims/; each handler takes
	// the one it needs.
	Encounters *encounters.Service
	Statements *statements.Service
	Reports    *reports.Service
	// Imports runs CSV imports as jobs (POST /v1/imports).
	Imports *imports.Service
	Journal *ledger.Journal
	Tokens  *access.Tokens
	// Users are people's accounts for the web application.
	Users *access.Users
	// Ready reports whether the database answers (for /readyz).
	Ready  func(context.Context) error
	Logger *slog.Logger
	// BodyLimit caps a request body in bytes (413 beyond it); 0 means 2 MiB. The CSV import
	// is streamed and capped separately (ImportLimit).
	BodyLimit int
	// ImportLimit caps a streamed CSV import in bytes; 0 means 1 GiB. A longer body is 413
	// once the rows before the one the limit cuts are imported.
	ImportLimit int64
	// RateLimit is how many requests one token may make per second (429 beyond); 0 means 300.
	RateLimit int
	// HeaderTimeout is how long a client has to send the request line and headers (408 and
	// the connection closed beyond it); 0 means 10 s. The body then has BodyTimeout.
	HeaderTimeout time.Duration
	// BodyTimeout is how long reading the body of a streamed route (the CSV import) may take
	// once the headers are in, for a large file on a slow line; 0 means 5 minutes.
	BodyTimeout time.Duration
	// ShortBodyTimeout is how long reading the body of any other route may take once the
	// headers are in (a JSON body of at most BodyLimit); 0 means 30 s.
	ShortBodyTimeout time.Duration
	// StreamedPaths are routes added to the app beside the API's ("POST /clinic/upload", as
	// web.StreamedRoutes lists the pages that read their body as a stream) that get
	// BodyTimeout like the API's streamed routes. A path is matched exactly, without
	// parameters.
	StreamedPaths []string
	// AuthFailures is about how many failed authentications one client address (IPv6: one
	// /64) may make within AuthFailureWindow before its requests with tokens not known to be live
	// are refused (429); 0 means 20 a minute, a negative number turns the throttle off.
	AuthFailures      int
	AuthFailureWindow time.Duration
	// Metrics, when set, counts every request (API and pages) and the imports' outcomes.
	Metrics *metrics.Metrics
	// TrustedProxies are the addresses and CIDR ranges of the reverse proxies in front of the
	// server (TRUSTED_PROXIES). Only a request from one of them has its client address taken
	// from ProxyHeader and its scheme from X-Forwarded-Proto; from anyone else both headers are
	// ignored (c.IP() is the TCP peer, c.Protocol() the connection's). Empty: nobody is trusted.
	TrustedProxies []string
	// ProxyHeader names the header a trusted proxy puts the client's address in (X-Real-IP
	// when empty); an invalid address in it falls back to the peer.
	ProxyHeader string
}

// Server holds the Fiber app and what its handlers need.
type Server struct {
	App *fiber.App
	cfg Config
	log *slog.Logger

	authFailures *authThrottle
}

// NewServer builds the app with every route of routes.go.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = 2 << 20
	}
	if cfg.ImportLimit == 0 {
		cfg.ImportLimit = maxImportBytes
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 300
	}
	if cfg.HeaderTimeout == 0 {
		cfg.HeaderTimeout = 10 * time.Second
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = 5 * time.Minute
	}
	if cfg.ShortBodyTimeout == 0 {
		cfg.ShortBodyTimeout = 30 * time.Second
	}
	if cfg.AuthFailures == 0 {
		cfg.AuthFailures = defaultAuthFailures
	}
	if cfg.AuthFailureWindow == 0 {
		cfg.AuthFailureWindow = defaultAuthFailureSpan
	}
	s := &Server{cfg: cfg, log: cfg.Logger, authFailures: newAuthThrottle(cfg.AuthFailures, cfg.AuthFailureWindow)}
	s.App = fiber.New(fiber.Config{
		AppName:        "trcledger",
		BodyLimit:      cfg.BodyLimit,
		ReadBufferSize: 16 << 10, // request line and headers; longer ones get 431
		// Bodies beyond BodyLimit arrive as a stream: the CSV import reads it as one, every
		// other route refuses it with 413 (limitBody).
		StreamRequestBody: true,
		// A multipart upload is streamed to the import too, not parsed into memory and
		// temporary files before any handler runs (on every route, past any body limit).
		DisablePreParseMultipartForm: true,
		// The read timeout covers the request line and headers only: a client trickling
		// them is cut off after HeaderTimeout. Once they are in, HeaderReceived gives the body
		// BodyTimeout, generous enough for a large CSV upload on a slow TRC line.
		ReadTimeout:           cfg.HeaderTimeout,
		WriteTimeout:          5 * time.Minute,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		JSONEncoder:           encodeJSON,
		ErrorHandler:          errorHandler(cfg.Logger),
		// Forwarded headers count only from the proxies named (none by default): the auth
		// throttle keys on c.IP(), the web app's Secure cookies follow c.Protocol().
		EnableTrustedProxyCheck: true,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg),
		EnableIPValidation:      true,
	})
	// Only a streamed route (the CSV import) gets the long body timeout; a client cannot hold
	// a connection and a body for 5 minutes on any other route.
	streamed := map[string]bool{}
	for _, r := range s.routes() {
		if r.Stream {
			streamed[r.Method+" "+strings.ToLower(r.Path)] = true
		}
	}
	for _, p := range cfg.StreamedPaths {
		if method, path, ok := strings.Cut(p, " "); ok {
			streamed[method+" "+routeKey([]byte(path))] = true
		}
	}
	s.App.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		if streamed[string(h.Method())+" "+routeKey(h.RequestURI())] {
			return fasthttp.RequestConfig{ReadTimeout: cfg.BodyTimeout}
		}
		return fasthttp.RequestConfig{ReadTimeout: cfg.ShortBodyTimeout}
	}
	// No cap on connections per address: fasthttp 1.51's MaxConnsPerIP closes a connection
	// twice when the server shuts down and panics (seen in a test run); cap them at the proxy.
	s.App.Use(compress, s.requestContext, s.logRequests, recover.New(), securityHeaders, cleanInput, methodNotAllowed(s.routes()))
	perToken := limiter.New(limiter.Config{
		Max:        cfg.RateLimit,
		Expiration: time.Second,
		KeyGenerator: func(c *fiber.Ctx) string {
			p, _ := c.Locals("principal").(access.Principal)
			return p.TokenID
		},
		LimitReached: func(c *fiber.Ctx) error {
			return trcledger.Errorf(trcledger.ERATELIMIT, "more than %d requests a second with this token; retry after the Retry-After header's seconds", cfg.RateLimit)
		},
	})
	for _, r := range s.routes() {
		handlers := []fiber.Handler{}
		// Authentication, the per-token limit and the role come before the body is read: a
		// client without a valid token is answered 401 (and the connection closed, see
		// errorHandler) without the server waiting for, or holding, its body. fasthttp itself
		// reads the first 8 KiB of a body before any handler runs.
		if r.Roles != nil {
			handlers = append(handlers, s.authenticate, perToken, allow(r.Roles...))
		}
		if !r.Stream {
			handlers = append(handlers, s.limitBody)
		}
		// The route table's ETag field both attaches the handler and documents If-None-Match
		// and 304 in OpenAPI, so the two cannot drift apart.
		if r.Method == fiber.MethodGet && r.ETag {
			handlers = append(handlers, etag(r.Roles == nil))
		}
		s.App.Add(r.Method, r.Path, append(handlers, r.Handler)...)
	}
	return s
}

// proxyHeader is the header c.IP() reads behind a trusted proxy; none without one.
func proxyHeader(cfg Config) string {
	switch {
	case len(cfg.TrustedProxies) == 0:
		return ""
	case cfg.ProxyHeader == "":
		return "X-Real-IP"
	}
	return cfg.ProxyHeader
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestContext gives every request an id (the client's X-Request-Id when it is sane) that
// is returned in X-Request-Id and carried in the context for the audit log.
func (s *Server) requestContext(c *fiber.Ctx) error {
	id := c.Get("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		id = newRequestID()
	} else {
		id = string([]byte(id)) // Fiber reuses its buffers
	}
	c.Locals("request_id", id)
	c.Set("X-Request-Id", id)
	c.SetUserContext(access.WithRequestID(c.UserContext(), id))
	return c.Next()
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("request_id").(string)
	return id
}

func routePath(c *fiber.Ctx) string {
	if r := c.Route(); r != nil {
		return r.Path
	}
	return ""
}

// logRequests writes one line per request. It logs the route pattern, not the path or the
// query, so that no identifier a client sent ends up in the log.
func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	s.cfg.Metrics.Request(routePath(c), c.Method(), c.Response().StatusCode(), time.Since(start))
	p, _ := c.Locals("principal").(access.Principal)
	s.log.Info("request",
		"request_id", requestID(c),
		"method", c.Method(),
		"route", routePath(c),
		"status", c.Response().StatusCode(),
		"duration_ms", float64(time.Since(start).Microseconds())/1000,
		"role", p.Role,
		"token_id", p.TokenID,
	)
	return nil
}

// routeKey is a request target's path as the router matches it: without the query, lower
// case (routing is case-insensitive) and without a trailing slash (routing is not strict).
func routeKey(uri []byte) string {
	path, _, _ := strings.Cut(string(uri), "?")
	if scheme, rest, ok := strings.Cut(path, "://"); ok && !strings.Contains(scheme, "/") {
		path = "/" // absolute form: http://host/path
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		}
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return strings.ToLower(path)
}

// limitBody refuses (413) a body beyond the limit on routes that read the whole body.
func (s *Server) limitBody(c *fiber.Ctx) error {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return c.Next()
	}
	buf, err := io.ReadAll(io.LimitReader(&bodyReader{r: stream}, int64(s.cfg.BodyLimit)+1))
	if err != nil {
		return err // 408 when the body stopped arriving, 400 when the connection broke (bodyReader)
	}
	if len(buf) > s.cfg.BodyLimit {
		return trcledger.Errorf(trcledger.ETOOLARGE, "the request body is larger than %d bytes", s.cfg.BodyLimit)
	}
	c.Request().SetBody(buf)
	return c.Next()
}

// cleanText reports whether s can be stored as text: valid UTF-8 without NUL characters.
func cleanText(s []byte) bool { return utf8.Valid(s) && bytes.IndexByte(s, 0) < 0 }

// cleanInput refuses (422) query parameters and headers that are not valid UTF-8 or hold a
// NUL character, which PostgreSQL cannot store as text.
func cleanInput(c *fiber.Ctx) error {
	var f trcledger.Fields
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if !cleanText(k) || !cleanText(v) {
			f.Add(strings.ToValidUTF8(string(k), "?"), "must be valid UTF-8 text without NUL characters")
		}
	})
	if !cleanText([]byte(c.Path())) {
		f.Add("path", "must be valid UTF-8 text without NUL characters")
	}
	if k := c.Request().Header.Peek("Idempotency-Key"); len(k) > 0 && !cleanText(k) {
		f.Add("Idempotency-Key", "must be valid UTF-8 text without NUL characters")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return c.Next()
}

func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	c.Set("Cache-Control", "no-store")
	return c.Next()
}
