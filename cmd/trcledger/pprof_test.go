package main

import (
	"io"
	"log/slog"
	"testing"
)

func TestProfilerOnlyOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{":6060", "0.0.0.0:6060", "10.0.0.5:6060", "example.org:6060", "localhost:6060", "6060"} {
		if err := startProfiler(t.Context(), addr, log); err == nil {
			t.Errorf("PPROF_ADDR %q was accepted", addr)
		}
	}
	if err := startProfiler(t.Context(), "127.0.0.1:0", log); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	if err := startProfiler(t.Context(), "", log); err != nil {
		t.Errorf("unset: %v", err)
	}
}
