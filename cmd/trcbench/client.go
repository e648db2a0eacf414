package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// client talks to the trcledger API over real sockets, keeping connections alive.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string) *client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr}}
}

// httpError is an answer with an unexpected status.
type httpError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *httpError) Error() string {
	b := e.Body
	if len(b) > 600 {
		b = b[:600] + "..."
	}
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Status, b)
}

// call sends a request and decodes a 2xx JSON answer into out (if not nil). Any other status is
// an *httpError carrying the problem document.
func (c *client) call(ctx context.Context, method, path, token string, hdr map[string]string, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if size > 0 {
		req.ContentLength = size
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
		_, _ = io.Copy(io.Discard, resp.Body)
		return &httpError{method, path, resp.StatusCode, string(b)}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// postJSON sends v as JSON.
func (c *client) postJSON(ctx context.Context, path, token string, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.call(ctx, "POST", path, token, nil, bytes.NewReader(b), int64(len(b)), out)
}

// statusOf returns the HTTP status of an *httpError, 0 otherwise.
func statusOf(err error) int {
	var e *httpError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
