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
	addr, _, stop := serveForTest(t, context.Background(), getenv)
	defer stop()
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

// TestAuthFailureLimitFromTheEnvironment: AUTH_FAILURE_LIMIT sets the failed-login throttle; 0
// turns it off (a negative api.Config.AuthFailures), nonsense is refused.
func TestAuthFailureLimitFromTheEnvironment(t *testing.T) {
	for v, want := range map[string]int{"": 20, "5": 5, "0": -1} {
		n, err := authFailureLimit(func(string) string { return v })
		if err != nil || n != want {
			t.Errorf("AUTH_FAILURE_LIMIT=%q: %d %v, want %d", v, n, err, want)
		}
	}
	for _, v := range []string{"-1", "many"} {
		if _, err := authFailureLimit(func(string) string { return v }); err == nil || !strings.Contains(err.Error(), "AUTH_FAILURE_LIMIT") {
			t.Errorf("AUTH_FAILURE_LIMIT=%q: %v, want an error naming it", v, err)
		}
	}
}
