package api_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/trcledger/trcledger/api"
)

// The contract: the OpenAPI document the server serves, loaded once per test binary with
// kin-openapi, against which every response the api tests receive through env.test is
// checked (checkResponse).
var contract struct {
	once   sync.Once
	raw    []byte
	doc    *openapi3.T
	router routers.Router
	err    error
}

func init() {
	// The exports: a PDF is opaque bytes to the validator.
	openapi3filter.RegisterBodyDecoder("application/pdf", openapi3filter.FileBodyDecoder)
}

// servedDocument is the document as GET /v1/openapi.json serves it (no database needed).
func servedDocument() ([]byte, error) {
	srv := api.NewServer(api.Config{})
	resp, err := srv.App.Test(httptest.NewRequest("GET", "/v1/openapi.json", nil), 10000)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /v1/openapi.json: %d", resp.StatusCode)
	}
	return decoded(resp.Header, resp.Body)
}

// loadContract parses and validates the served document and builds its router.
func loadContract() (*openapi3.T, routers.Router, error) {
	contract.once.Do(func() {
		contract.raw, contract.err = servedDocument()
		if contract.err != nil {
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(contract.raw)
		if err != nil {
			contract.err = fmt.Errorf("load the document: %w", err)
			return
		}
		if err := doc.Validate(context.Background(), openapi3.EnableMultiError(), openapi3.EnableExamplesValidation()); err != nil {
			contract.err = fmt.Errorf("the document is not valid OpenAPI: %w", err)
			return
		}
		// Route by path alone: the test requests name no server.
		routed := *doc
		routed.Servers = nil
		contract.router, contract.err = legacy.NewRouter(&routed)
		contract.doc = doc
	})
	return contract.doc, contract.router, contract.err
}

// decoded reads a body, undoing any Content-Encoding.
func decoded(h http.Header, body io.Reader) ([]byte, error) {
	r := body
	switch enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, err
		}
		r = zr
	case "br":
		r = brotli.NewReader(body)
	case "deflate":
		r = flate.NewReader(body)
	default:
		return nil, fmt.Errorf("unknown Content-Encoding %q", enc)
	}
	return io.ReadAll(r)
}

// checkResponse lists every way a response breaks the contract: an undocumented status, a
// content type or header the operation does not name, a body that does not fit its schema.
// A request the document has no operation for (an unknown path, a wrong method) must be
// answered with a problem document: 404, or 405 with Allow.
func checkResponse(req *http.Request, status int, header http.Header, body []byte) []string {
	doc, router, err := loadContract()
	if err != nil {
		return []string{err.Error()}
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		var problems []string
		switch {
		case errors.Is(err, routers.ErrMethodNotAllowed) || strings.Contains(err.Error(), routers.ErrMethodNotAllowed.Error()):
			if status != 405 && status != 429 && status != 431 && status != 400 {
				problems = append(problems, fmt.Sprintf("status %d for a method the path does not take (want 405)", status))
			}
			if status == 405 && header.Get("Allow") == "" {
				problems = append(problems, "405 without an Allow header")
			}
		default:
			if status != 404 && status != 405 && status != 429 && status != 431 && status != 400 {
				problems = append(problems, fmt.Sprintf("status %d for a path the document does not have", status))
			}
		}
		return append(problems, checkProblem(doc, header, body)...)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return []string{strings.ReplaceAll(err.Error(), "\n", " | ")}
	}
	return nil
}

// checkProblem checks a body against the Problem schema.
func checkProblem(doc *openapi3.T, header http.Header, body []byte) []string {
	if ct, _, _ := mime.ParseMediaType(header.Get("Content-Type")); ct != "application/problem+json" {
		return []string{fmt.Sprintf("content type %q, want application/problem+json", header.Get("Content-Type"))}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"the problem document is not JSON: " + err.Error()}
	}
	if err := doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return []string{"the problem document does not fit its schema: " + strings.ReplaceAll(err.Error(), "\n", " | ")}
	}
	return nil
}

// test sends req through the app and checks the response against the contract: a mismatch
// fails the calling test. The returned response's body can be read as usual.
func (e *env) test(req *http.Request) *http.Response {
	e.t.Helper()
	var sent []byte
	if req.Body != nil {
		sent, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(sent))
	}
	resp, err := e.srv.App.Test(req, 10000)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	body, err := decoded(resp.Header, bytes.NewReader(raw))
	if err != nil {
		e.t.Errorf("%s %s: %d: the body cannot be decoded: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		return resp
	}
	for _, p := range checkResponse(req, resp.StatusCode, resp.Header, body) {
		e.t.Errorf("%s %s answered %d against the contract: %s\nbody: %.300s", req.Method, req.URL.Path, resp.StatusCode, p, body)
	}
	if resp.StatusCode < 300 {
		for _, p := range checkAccepted(req, sent) {
			e.t.Errorf("%s %s was accepted (%d) but the contract refuses the request: %s", req.Method, req.URL.Path, resp.StatusCode, p)
		}
	}
	return resp
}

// checkAccepted lists the ways a request the server accepted (2xx) breaks the document's
// parameters and JSON body: a schema stricter than the server would have a client refuse to
// send what works.
func checkAccepted(req *http.Request, body []byte) []string {
	_, router, err := loadContract()
	if err != nil {
		return []string{err.Error()}
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		return []string{"no operation: " + err.Error()}
	}
	if rb := route.Operation.RequestBody; rb != nil && rb.Value.Content.Get("application/json") == nil {
		return nil // uploads: which content types the import takes is its own test's business
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	input := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return []string{strings.ReplaceAll(err.Error(), "\n", " | ")}
	}
	return nil
}
