package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/pgtest"
)

// TestHeaderTimeoutFromTheEnvironment: HEADER_TIMEOUT sets how long serve waits for a request's
// headers; a bad value stops serve before it listens.
func TestHeaderTimeoutFromTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.NewURL(t), "LISTEN_ADDR": "127.0.0.1:0",
		"PSEUDONYM_KEY": "test-key-0123456789abcdef", "HEADER_TIMEOUT": "ten seconds"}
	getenv := func(k string) string { return env[k] }
	if err := run(context.Background(), []string{"serve"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "HEADER_TIMEOUT") {
		t.Errorf("HEADER_TIMEOUT=%q: %v, want an error naming it", env["HEADER_TIMEOUT"], err)
	}

	env["HEADER_TIMEOUT"] = "300ms"
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv, stdout, io.Discard) }()
	defer func() {
		cancel()
		<-done //nolint:errcheck // how serve ends after cancel is not what this test checks
	}()
	var addr string
	for i := 0; i < 250 && addr == ""; i++ {
		if _, a, ok := strings.Cut(stdout.String(), "listening on "); ok {
			addr = strings.TrimSpace(a)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		t.Fatal("serve did not start")
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\n")
	closed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, conn); close(closed) }()
	for {
		select {
		case <-closed:
			return
		case <-time.After(100 * time.Millisecond):
			if time.Since(start) > 8*time.Second {
				t.Fatal("a client trickling headers was held 8 s with HEADER_TIMEOUT=300ms")
			}
			_, _ = io.WriteString(conn, "X-Trickle: x\r\n")
		}
	}
}
