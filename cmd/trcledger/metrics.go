package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/trcledger/trcledger/internal/metrics"
)

// serveMetrics exposes GET /metrics (Prometheus). With METRICS_ADDR set it listens there, on
// its own, and the API port does not answer /metrics; without it the API port answers /metrics
// to loopback clients only (404 to anyone else), so a scraper on the same host needs no
// configuration and the metrics are not on the network by accident.
func serveMetrics(ctx context.Context, addr string, app *fiber.App, m *metrics.Metrics, log *slog.Logger) (string, error) {
	if addr == "" {
		h := adaptor.HTTPHandler(m.Handler())
		app.Get("/metrics", func(c *fiber.Ctx) error {
			if ip := net.ParseIP(c.IP()); ip == nil || !ip.IsLoopback() {
				return fiber.ErrNotFound
			}
			return h(c)
		})
		return "", nil
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("metrics served", "addr", ln.Addr().String())
	return ln.Addr().String(), nil
}
