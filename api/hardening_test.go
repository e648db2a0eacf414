package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/api"
	"github.com/trcledger/trcledger/internal/access"
)

// listen serves e on a real TCP port (app.Test has no connection to time out and one client
// address) and returns its address.
func (e *env) listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.srv.App.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

// clientFrom is an HTTP client whose connections come from the loopback address ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

func get(t *testing.T, c *http.Client, url, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// unknownToken has the shape of an issued token but was never issued.
func unknownToken(i int) string { return fmt.Sprintf("trc_%042dA", i) }

// Item 4: a client that trickles its header lines is cut off after the header timeout, while a
// body that trickles for longer than that still goes through.
func TestSlowHeadersAreCutOffButSlowBodiesAreNot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.HeaderTimeout = 400 * time.Millisecond })
	addr := e.listen(t)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes the connection
		closed <- time.Since(start)
	}()
	_, _ = io.WriteString(conn, "GET /v1/sites HTTP/1.1\r\nHost: x\r\n")
	// One header line every 100 ms for up to 8 s: never idle, never done.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
trickle:
	for i := 0; ; i++ {
		select {
		case d := <-closed:
			if d > 5*time.Second {
				t.Errorf("connection closed after %v with a header timeout of 400ms", d)
			}
			break trickle
		case <-tick.C:
			if time.Since(start) > 8*time.Second {
				t.Fatal("a client trickling header lines was held for 8 s with a header timeout of 400ms")
			}
			if _, err := fmt.Fprintf(conn, "X-Trickle-%d: x\r\n", i); err != nil {
				break trickle // closed by the server
			}
		}
	}

	// A streamed import whose body takes about 2 s, five times the header timeout.
	csv := []string{
		"external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n",
		"SLOW-1,IOM-DZBIH-2024,TRC-LIPA,P-1,unknown,2025-03-01,consultation,J06.9,PZZ-01,1\n",
		"SLOW-2,IOM-DZBIH-2024,TRC-LIPA,P-2,unknown,2025-03-02,consultation,J06.9,PZZ-01,1\n",
		"SLOW-3,IOM-DZBIH-2024,TRC-LIPA,P-3,unknown,2025-03-03,consultation,J06.9,PZZ-01,1\n",
		"SLOW-4,IOM-DZBIH-2024,TRC-LIPA,P-4,unknown,2025-03-04,consultation,J06.9,PZZ-01,1\n",
	}
	pr, pw := io.Pipe()
	go func() {
		for _, part := range csv {
			_, _ = io.WriteString(pw, part)
			time.Sleep(500 * time.Millisecond)
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/encounters/import", pr)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+e.tokens["clinic"])
	res, err := clientFrom("127.0.0.1").Do(req)
	if err != nil {
		t.Fatalf("slow import: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"accepted":4`) {
		t.Errorf("slow import: %d %s", res.StatusCode, body)
	}

	// A body that stops arriving is cut off after the body timeout with a 408, not a 500.
	e = newEnv(t, func(c *api.Config) { c.HeaderTimeout = 400 * time.Millisecond; c.BodyTimeout = time.Second })
	conn, err = net.Dial("tcp", e.listen(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /v1/encounters/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n%s", e.tokens["clinic"], csv[0])
	res, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled import: %v", err)
	}
	readResult(t, res).isProblem(t, 408)
}

// Item 4: only the CSV import gets the long body timeout; a slow body to a JSON route is cut
// off after the short one (408).
func TestOnlyTheImportGetsTheLongBodyTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.ShortBodyTimeout = time.Second })
	addr := e.listen(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	// More than the 8 KiB fasthttp reads before any handler, then nothing.
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1/sites HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n{\"name\":\"%s", e.tokens["admin"], strings.Repeat("x", 9000))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled JSON body: %v", err)
	}
	readResult(t, res).isProblem(t, 408)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a stalled JSON body was held %v with a short body timeout of 1s", d)
	}

	// The import, trickling for 2.5 s, still has the long timeout.
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n")
		for i := 0; i < 5; i++ {
			time.Sleep(500 * time.Millisecond)
			fmt.Fprintf(pw, "SB-%d,IOM-DZBIH-2024,TRC-LIPA,P-%d,unknown,2025-03-0%d,consultation,J06.9,PZZ-01,1\n", i, i, i+1)
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/encounters/import", pr)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+e.tokens["clinic"])
	res, err = clientFrom("127.0.0.1").Do(req)
	if err != nil {
		t.Fatalf("slow import: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"accepted":5`) {
		t.Errorf("slow import with a short body timeout of 1s: %d %s", res.StatusCode, body)
	}
}

// Item 4: a request without a valid token is answered 401 before its body is read, and its
// connection closed: the server neither waits for nor holds the body of an unknown client.
func TestUnauthenticatedBodiesAreNotWaitedFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.ShortBodyTimeout = 20 * time.Second })
	addr := e.listen(t)
	for _, auth := range []string{"", "Authorization: Bearer " + unknownToken(1) + "\r\n"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
		start := time.Now()
		fmt.Fprintf(conn, "POST /v1/sites HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s"+
			"Content-Length: 100000\r\n\r\n{\"name\":\"%s", auth, strings.Repeat("x", 9000))
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", auth, err)
		}
		readResult(t, res).isProblem(t, 401)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%q: answered after %v", auth, d)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Errorf("%q: the connection was left open with an unread body", auth)
		}
		conn.Close()
	}
}

// Item 5: repeated failed authentications from one address are throttled (429 with
// Retry-After) for tokens that are not known to be live; a live token from the same address
// (a clinic behind the guesser's NAT) still works, and another address is not affected.
func TestFailedAuthenticationsAreThrottledByAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.AuthFailures = 5 })
	base := "http://" + e.listen(t)
	a, b := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")

	// No credentials at all is not a guess and is not counted.
	for i := 0; i < 10; i++ {
		if res := get(t, a, base+"/v1/sites", ""); res.StatusCode != 401 {
			t.Fatalf("no token: %d", res.StatusCode)
		}
	}
	for i := 0; i < 5; i++ {
		if res := get(t, a, base+"/v1/sites", unknownToken(i)); res.StatusCode != 401 {
			t.Fatalf("bad token %d: %d, want 401", i, res.StatusCode)
		}
	}
	res := get(t, a, base+"/v1/sites", unknownToken(99))
	if res.StatusCode != 429 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("6th bad token: %d %s, want a 429 problem", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if ra := res.Header.Get("Retry-After"); ra == "" || ra == "0" || len(ra) > 3 {
		t.Errorf("Retry-After = %q, want the seconds until the address may try again", ra)
	}
	if res := get(t, a, base+"/v1/sites", "trc_nonsense"); res.StatusCode != 429 {
		t.Errorf("malformed token from a throttled address: %d, want 429", res.StatusCode)
	}
	// Decided: a live token is served even from a throttled address. It cannot have been
	// guessed (256 bits), and checking it costs no query, so the throttle only stops guessing.
	for _, who := range []string{"admin", "clinic"} {
		if res := get(t, a, base+"/v1/sites", e.tokens[who]); res.StatusCode != 200 {
			t.Errorf("valid %s token from a throttled address: %d, want 200", who, res.StatusCode)
		}
	}
	if res := get(t, a, base+"/v1/sites", unknownToken(100)); res.StatusCode != 429 {
		t.Errorf("unknown token after a valid one from a throttled address: %d, want 429", res.StatusCode)
	}
	// Public routes stay open.
	if res := get(t, a, base+"/healthz", ""); res.StatusCode != 200 {
		t.Errorf("healthz from a throttled address: %d", res.StatusCode)
	}
	// Another address is unaffected.
	if res := get(t, b, base+"/v1/sites", unknownToken(1)); res.StatusCode != 401 {
		t.Errorf("bad token from another address: %d, want 401", res.StatusCode)
	}
	if res := get(t, b, base+"/v1/sites", e.tokens["admin"]); res.StatusCode != 200 {
		t.Errorf("valid token from another address: %d, want 200", res.StatusCode)
	}
}

// Item 5: a negative AuthFailures (AUTH_FAILURE_LIMIT=0) turns the throttle off.
func TestFailedAuthenticationThrottleCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.AuthFailures = -1 })
	for i := 0; i < 30; i++ {
		e.do("GET", "/v1/sites", "Bearer "+unknownToken(i), "").isProblem(t, 401)
	}
}

// Item 5: a token that cannot exist costs no database round trip.
func TestUnknownTokensCostNoQuery(t *testing.T) {
	t.Parallel()
	var tokens *access.Tokens
	e := newEnv(t, func(c *api.Config) { tokens = c.Tokens; c.AuthFailures = 1000 })
	if r := e.do("GET", "/v1/sites", "clinic", ""); r.status != 200 {
		t.Fatalf("clinic: %d", r.status)
	}
	before := tokens.Lookups()
	for _, bad := range []string{
		"trc_nonsense", "nonsense", "trc_" + strings.Repeat("A", 42), "trc_" + strings.Repeat("A", 44),
		"trc_" + strings.Repeat("*", 43), "trc_" + strings.Repeat("A", 42) + "B", // B leaves stray bits
		"TRC_" + strings.Repeat("A", 43), strings.Repeat("x", 5000),
	} {
		e.do("GET", "/v1/sites", "Bearer "+bad, "").isProblem(t, 401)
	}
	if n := tokens.Lookups() - before; n != 0 {
		t.Errorf("malformed tokens made %d database round trips, want 0", n)
	}
	// Well-formed but never issued: answered from the set of live digests, which is reloaded
	// at most once a second.
	start, before := time.Now(), tokens.Lookups()
	for i := 0; i < 50; i++ {
		e.do("GET", "/v1/sites", "Bearer "+unknownToken(i), "").isProblem(t, 401)
	}
	if n, most := tokens.Lookups()-before, int64(time.Since(start)/time.Second)+1; n > most {
		t.Errorf("50 unknown tokens made %d database round trips in %v, want at most %d", n, time.Since(start), most)
	}
	// A token issued, used and revoked through this server is seen at once.
	res := e.do("POST", "/v1/tokens", "admin", `{"name":"n","role":"finance"}`)
	secret, id := res.json["token"].(string), res.json["id"].(string)
	if r := e.do("GET", "/v1/sites", secret, ""); r.status != 200 {
		t.Errorf("new token: %d", r.status)
	}
	e.do("DELETE", "/v1/tokens/"+id, "admin", "")
	e.do("GET", "/v1/sites", secret, "").isProblem(t, 401)
	// A token issued by another process (trcledger token create) is seen within a second.
	_, other, err := access.NewTokens(e.db, time.Now).CreateToken(context.Background(), access.NewToken{Name: "cli", Role: access.RoleFinance})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for e.do("GET", "/v1/sites", other, "").status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("a token issued by another process is still refused after 3 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Item 8: two Authorization headers are refused, whichever would have won.
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, pair := range [][2]string{
		{e.tokens["clinic"], e.tokens["admin"]},
		{e.tokens["admin"], "nonsense"},
		{e.tokens["admin"], e.tokens["admin"]},
	} {
		req, _ := http.NewRequest("GET", "/v1/tokens", nil)
		req.Header.Add("Authorization", "Bearer "+pair[0])
		req.Header.Add("Authorization", "Bearer "+pair[1])
		resp, err := e.srv.App.Test(req, 10000)
		if err != nil {
			t.Fatal(err)
		}
		r := readResult(t, resp)
		r.isProblem(t, 400)
		if r.json["code"] != "duplicate_header" {
			t.Errorf("code = %v, want duplicate_header", r.json["code"])
		}
	}
}

// Request line and headers beyond the read buffer are a 431 problem document.
func TestHugeHeadersAre431(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn, err := net.Dial("tcp", e.listen(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 20<<10))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := readResult(t, res)
	r.isProblem(t, 431)
	if r.json["code"] != "headers_too_large" {
		t.Errorf("code = %v, want headers_too_large", r.json["code"])
	}
}

// A client making many requests with one live token costs about one token query a second, not
// one a request; a token revoked by another server process is refused within about a second.
func TestLiveTokensAreReadOnceASecond(t *testing.T) {
	t.Parallel()
	var tokens *access.Tokens
	e := newEnv(t, func(c *api.Config) { tokens = c.Tokens })
	tok, secret, err := access.NewTokens(e.db, time.Now).CreateToken(context.Background(), access.NewToken{Name: "busy", Role: access.RoleFinance})
	if err != nil {
		t.Fatal(err)
	}
	start, before := time.Now(), tokens.Lookups()
	for i := 0; i < 100; i++ {
		if r := e.do("GET", "/v1/sites", secret, ""); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	if n, most := tokens.Lookups()-before, 2*(int64(time.Since(start)/time.Second)+1); n > most {
		t.Errorf("100 requests with one token made %d token queries in %v, want at most %d", n, time.Since(start), most)
	}
	// Revoked by another process (another server, or trcledger in a shell).
	if err := access.NewTokens(e.db, time.Now).RevokeToken(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for e.do("GET", "/v1/sites", secret, "").status == 200 {
		if time.Since(revoked) > 1500*time.Millisecond {
			t.Fatal("a token revoked by another process is still accepted after 1.5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStalledImportIs408: an import whose body stops arriving after the handler has begun to
// read it (past what fasthttp reads before calling it) is answered 408, as
// docs/server-hardening.md says, not the 400 of a body that could not be read; the detail
// says how far the file was read.
func TestStalledImportIs408(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.HeaderTimeout = 400 * time.Millisecond; c.BodyTimeout = time.Second })
	conn, err := net.Dial("tcp", e.listen(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var body strings.Builder
	body.WriteString("external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n")
	for i := 0; body.Len() < 64<<10; i++ { // more than fasthttp reads ahead of the handler
		fmt.Fprintf(&body, "STALL-%d,IOM-DZBIH-2024,TRC-LIPA,P-%d,unknown,2025-03-01,consultation,J06.9,PZZ-01,1\n", i, i)
	}
	fmt.Fprintf(conn, "POST /v1/encounters/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", e.tokens["clinic"], 10*body.Len(), body.String())
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled import: %v", err)
	}
	r := readResult(t, res)
	r.isProblem(t, 408)
	if d, _ := r.json["detail"].(string); !strings.Contains(d, "row") {
		t.Errorf("408 detail does not say how far the file was read: %s", d)
	}
}
