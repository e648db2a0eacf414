package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/pgtest"
)

// seededEnv migrates and seeds a fresh database and answers the environment of a server on it
// (loopback, any port) with the demo users' passwords by username.
func seededEnv(t *testing.T) (map[string]string, map[string]string) {
	t.Helper()
	env := map[string]string{"DATABASE_URL": pgtest.NewURL(t), "LISTEN_ADDR": "127.0.0.1:0", "PSEUDONYM_KEY": "deploy-key-0123456789abcdef"}
	dir := t.TempDir()
	for _, args := range [][]string{{"migrate"}, {"seed-demo", "--users-file", filepath.Join(dir, "users")}} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errs); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errs.String())
		}
	}
	users, err := os.ReadFile(filepath.Join(dir, "users"))
	if err != nil {
		t.Fatal(err)
	}
	passwords := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(users)), "\n") {
		f := strings.Fields(line) // role [org] username locale password
		passwords[f[len(f)-3]] = f[len(f)-1]
	}
	return env, passwords
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key (PEM) into dir and
// answers their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "trcledger test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signInCookie signs in as the demo finance user at base with client (which must not follow
// redirects) and answers the session cookie the server set. header is added to both requests
// (forwarded headers).
func signInCookie(t *testing.T, client *http.Client, base string, passwords map[string]string, header http.Header) *http.Cookie {
	const username = "finance.iom"
	password := passwords[username]
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/login", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(body.String())
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET /login: %d, no CSRF field", resp.StatusCode)
	}
	form := url.Values{"username": {username}, "password": {password}, "_csrf": {m[1]}}
	req, _ = http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range resp.Cookies() { // the pre-session CSRF cookie
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "trc_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("POST /login: %d, no session cookie (%v)", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	return nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// TestServeTLS: with TLS_CERT_FILE and TLS_KEY_FILE the server answers HTTPS (a self-signed
// certificate made here), refuses plain HTTP, and the session cookie it sets is Secure.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	env, passwords := seededEnv(t)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	env["TLS_CERT_FILE"], env["TLS_KEY_FILE"] = certFile, keyFile
	addr, _, stop := serveForTest(t, context.Background(), func(k string) string { return env[k] })
	defer stop()
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: noRedirects,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("GET https /healthz: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// Plain HTTP to the TLS port gets no answer a browser would take.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS port")
		}
	}
	c := signInCookie(t, client, "https://"+addr, passwords, nil)
	if !c.Secure || !c.HttpOnly {
		t.Errorf("session cookie over TLS: Secure %v, HttpOnly %v", c.Secure, c.HttpOnly)
	}
}

// TestTLSNeedsBothFiles: one of TLS_CERT_FILE and TLS_KEY_FILE alone, or a file that does not
// load, stops serve with a message naming them.
func TestTLSNeedsBothFiles(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{"TLS_CERT_FILE": "/nonexistent/cert.pem"},
		{"TLS_CERT_FILE": "/nonexistent/cert.pem", "TLS_KEY_FILE": "/nonexistent/key.pem"},
	} {
		if _, err := tlsConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "TLS_") {
			t.Errorf("%v: err = %v", env, err)
		}
	}
	if cfg, err := tlsConfig(func(string) string { return "" }); cfg != nil || err != nil {
		t.Errorf("no TLS variables: %v %v", cfg, err)
	}
	for _, v := range []string{"10.0.0.0/8, 127.0.0.1", "::1", ""} {
		if _, _, err := trustedProxies(func(k string) string { return map[string]string{"TRUSTED_PROXIES": v}[k] }); err != nil {
			t.Errorf("TRUSTED_PROXIES=%q: %v", v, err)
		}
	}
	if _, _, err := trustedProxies(func(k string) string { return map[string]string{"TRUSTED_PROXIES": "nginx"}[k] }); err == nil {
		t.Error("TRUSTED_PROXIES=nginx accepted")
	}
}

// TestForwardedHeadersOnlyFromTrustedProxies: behind a proxy named in TRUSTED_PROXIES (here the
// test itself, on 127.0.0.1) X-Forwarded-Proto: https makes the session cookie Secure, and the
// auth throttle counts failures per X-Real-IP, so one client behind the proxy being throttled
// leaves another alone; /metrics is not answered to a forwarded client. Without
// TRUSTED_PROXIES the same headers change nothing.
func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	env, passwords := seededEnv(t)
	env["AUTH_FAILURE_LIMIT"] = "3"
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: noRedirects}
	https := http.Header{"X-Forwarded-Proto": {"https"}}
	badToken := func(base, clientIP string) int {
		req, _ := http.NewRequest("GET", base+"/v1/contracts", nil)
		req.Header.Set("Authorization", "Bearer trc_"+strings.Repeat("A", 43))
		if clientIP != "" {
			req.Header.Set("X-Real-IP", clientIP)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	metricsStatus := func(base, clientIP string) int {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		req.Header.Set("X-Real-IP", clientIP)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// Not trusted: the header is ignored.
	addr, _, stop := serveForTest(t, context.Background(), func(k string) string { return env[k] })
	base := "http://" + addr
	if c := signInCookie(t, client, base, passwords, https); c.Secure {
		t.Error("X-Forwarded-Proto from an untrusted peer made the cookie Secure")
	}
	if s := metricsStatus(base, "192.0.2.10"); s != 200 {
		t.Errorf("/metrics from loopback with an untrusted X-Real-IP: %d, want 200", s)
	}
	stop()

	env["TRUSTED_PROXIES"] = "127.0.0.1/32"
	addr, _, stop = serveForTest(t, context.Background(), func(k string) string { return env[k] })
	defer stop()
	base = "http://" + addr
	if c := signInCookie(t, client, base, passwords, https); !c.Secure {
		t.Error("X-Forwarded-Proto: https from a trusted proxy did not make the cookie Secure")
	}
	if c := signInCookie(t, client, base, passwords, nil); c.Secure {
		t.Error("plain HTTP through the trusted proxy made the cookie Secure")
	}
	// Documentation addresses (RFC 5737) in a header: nothing is sent to them.
	for range 4 {
		badToken(base, "192.0.2.1")
	}
	if s := badToken(base, "192.0.2.1"); s != 429 {
		t.Errorf("a throttled client behind the proxy: %d, want 429", s)
	}
	if s := badToken(base, "192.0.2.2"); s != 401 {
		t.Errorf("another client behind the same proxy: %d, want 401", s)
	}
	if s := metricsStatus(base, "192.0.2.10"); s != 404 {
		t.Errorf("/metrics to a client forwarded by the proxy: %d, want 404", s)
	}
}
