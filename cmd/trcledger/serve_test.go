package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// serveForTest runs `serve` until the returned stop is called (as SIGTERM does) and answers its
// address and what it writes to stderr (its log). stop fails the test if serve ends with an error
// or does not end.
func serveForTest(t *testing.T, ctx context.Context, getenv func(string) string) (string, *syncBuffer, func()) {
	t.Helper()
	sctx, cancel := context.WithCancel(ctx)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(sctx, []string{"serve"}, getenv, stdout, stderr) }()
	var addr string
	for i := 0; i < 250 && addr == ""; i++ {
		if _, a, ok := strings.Cut(stdout.String(), "listening on "); ok {
			addr = strings.TrimSpace(a)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		cancel()
		t.Fatalf("server did not start: %s", stderr.String())
	}
	return addr, stderr, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}
}
