package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/internal/pg"
)

// openReplica opens REPLICA_DATABASE_URL, when set, as a read-only pool watched for lag
// (REPLICA_MAX_LAG, default 10s) and starts the watch; nil when it is not set. A replica that
// cannot be reached at start is an error: the operator asked for one.
func openReplica(ctx context.Context, getenv func(string) string, primary *sqlx.DB, log *slog.Logger) (*pg.Replica, error) {
	url := getenv("REPLICA_DATABASE_URL")
	if url == "" {
		return nil, nil
	}
	maxLag, err := durationEnv(getenv, "REPLICA_MAX_LAG", pg.DefaultReplicaMaxLag)
	if err != nil {
		return nil, err
	}
	r, err := pg.OpenReplica(ctx, url, primary, maxLag)
	if err != nil {
		return nil, fmt.Errorf("REPLICA_DATABASE_URL: %w", err)
	}
	go r.Run(ctx, log)
	return r, nil
}

// tlsConfig reads TLS_CERT_FILE and TLS_KEY_FILE (PEM; the certificate file may hold the chain):
// nil when neither is set, an error when only one is or they do not load. TLS 1.2 at least.
func tlsConfig(getenv func(string) string) (*tls.Config, error) {
	certFile, keyFile := getenv("TLS_CERT_FILE"), getenv("TLS_KEY_FILE")
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS_CERT_FILE, TLS_KEY_FILE: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// serveTLS wraps ln in TLS when cfg is set; the server then answers https only, and
// c.Protocol() is "https" (the web application's cookies get the Secure flag).
func serveTLS(ln net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return ln
	}
	return tls.NewListener(ln, cfg)
}

// trustedProxies reads TRUSTED_PROXIES: a comma-separated list of addresses or CIDR ranges of
// the reverse proxies in front of the server, whose forwarded headers (PROXY_HEADER for the
// client address, default X-Real-IP; X-Forwarded-Proto for the scheme) are believed. Empty: no
// proxy is trusted, the client is the TCP peer and the scheme is the connection's.
func trustedProxies(getenv func(string) string) (proxies []string, header string, err error) {
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, perr := netip.ParsePrefix(p); perr != nil {
			if _, aerr := netip.ParseAddr(p); aerr != nil {
				return nil, "", fmt.Errorf("TRUSTED_PROXIES: %q is neither an address nor a CIDR range", p)
			}
		}
		proxies = append(proxies, p)
	}
	header = getenv("PROXY_HEADER")
	if header == "" {
		header = "X-Real-IP"
	}
	if len(proxies) == 0 {
		return nil, "", nil
	}
	return proxies, header, nil
}
