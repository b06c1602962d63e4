package agentapi_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// stallPOST opens a TLS connection to the test server and sends a POST's headers
// and the first byte of a body it never finishes, as a client without credentials
// can, many times over.
func stallPOST(t *testing.T, srv *httptest.Server, path string) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", path)
	return c
}

// TestStalledBodiesDoNotLockAgentsOut: twice as many stalled POSTs as there are
// in-flight slots do not make an enrolled agent's requests fail (they held the
// slots while waiting for their bodies, and every agent got 503).
func TestStalledBodiesDoNotLockAgentsOut(t *testing.T) {
	var logs syncBuffer
	e, _ := newSecEnv(t, &logs, func(c *agentapi.Config) { c.MaxInFlight = 4; c.BodyTimeout = time.Minute })
	key := e.enroll("h1", `"9"`, "U-1")
	for range 8 {
		stallPOST(t, e.srv, "/api/v1/osquery/log")
	}
	time.Sleep(100 * time.Millisecond) // let the server take them in
	for _, ep := range []string{"/config", "/distributed/read"} {
		r := e.post("/api/v1/osquery"+ep, `{"node_key":"`+key+`"}`, "Authorization", "NodeKey "+key)
		if r.status != http.StatusOK {
			t.Errorf("%s with 8 stalled bodies: %d %s, want 200", ep, r.status, r.raw)
		}
	}
}

// TestBodyDeadline: a body that does not arrive is answered 408 once BodyTimeout
// has passed, and the connection is not held longer.
func TestBodyDeadline(t *testing.T) {
	var logs syncBuffer
	e, _ := newSecEnv(t, &logs, func(c *agentapi.Config) { c.BodyTimeout = 200 * time.Millisecond })
	c := stallPOST(t, e.srv, "/api/v1/osquery/enroll")
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang guard, not a measurement
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if !strings.Contains(line, " 408 ") {
		t.Errorf("stalled body answered %q, want 408", strings.TrimSpace(line))
	}
}

// newDirect serves the agent endpoints without a network, for tests that watch
// what the handler reads of a body.
func newDirect(t *testing.T, logs io.Writer, tune func(*agentapi.Config)) http.Handler {
	t.Helper()
	_, mux, _ := newHandler(t, logs, nil, tune)
	return mux
}

// countingReader counts the bytes a handler takes from a body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// gzipBomb is a log body of about size bytes (a node key, then padding) in gzip:
// a few tens of KiB on the wire.
func gzipBomb(t *testing.T, nodeKey string, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	fmt.Fprintf(zw, `{"node_key":"%s","log_type":"result","data":[{"pad":"`, nodeKey)
	zw.Write(bytes.Repeat([]byte("A"), size))
	io.WriteString(zw, `"}]}`)
	zw.Close()
	return b.Bytes()
}

// TestBogusNodeKeyIsNotInflated: a gzip body with an unknown node key is refused
// before it is inflated, whether the key comes in the Authorization header or
// at the start of the body (it was inflated up to 64 MiB and parsed first: eight
// such requests took the server to 2.6 GiB).
func TestBogusNodeKeyIsNotInflated(t *testing.T) {
	mux := newDirect(t, io.Discard, nil)
	bomb := gzipBomb(t, "bogus-node-key", 60<<20)
	for _, header := range []bool{true, false} {
		body := &countingReader{r: bytes.NewReader(bomb)}
		req := httptest.NewRequest("POST", "/api/v1/osquery/log", body)
		req.Header.Set("Content-Encoding", "gzip")
		if header {
			req.Header.Set("Authorization", "NodeKey bogus-node-key")
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `"node_invalid":true`) {
			t.Errorf("header %v: answered %d %s, want node_invalid", header, rec.Code, rec.Body)
		}
		if got := body.n.Load(); got > int64(len(bomb))/4 {
			t.Errorf("header %v: read %d of %d compressed bytes before refusing the key", header, got, len(bomb))
		}
	}
}

// TestAnonymousBodiesStayInTheirBudget: bodies not tied to a known node key
// (enrollments, keys hidden inside) are held within AnonBudget; one that does not
// fit is answered 503 with Retry-After instead of being read into memory.
func TestAnonymousBodiesStayInTheirBudget(t *testing.T) {
	mux := newDirect(t, io.Discard, func(c *agentapi.Config) {
		c.AnonBudget = 64 << 10
		c.Limits.Enroll = 1 << 20
	})
	body := `{"enroll_secret":"nope","host_identifier":"` + strings.Repeat("h", 200<<10) + `"}`
	req := httptest.NewRequest("POST", "/api/v1/osquery/enroll", strings.NewReader(body))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a 200 KiB enrollment with a 64 KiB budget: %d %q, want 503 with Retry-After", rec.Code, rec.Body)
	}
	// A small one still fits.
	req = httptest.NewRequest("POST", "/api/v1/osquery/enroll", strings.NewReader(enrollBody(secret, "h1", `"9"`, "U-1")))
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"node_key"`) {
		t.Errorf("an ordinary enrollment after that: %d %s", rec.Code, rec.Body)
	}
}

// TestRefusedEnrollmentsLogBounded: refused enrollments with huge host
// identifiers make at most a line a second, each of bounded size (1 KiB of gzip
// made a 1 MB line, and 3 s of them 204 MiB of log); the line says how many it held back.
func TestRefusedEnrollmentsLogBounded(t *testing.T) {
	var logs syncBuffer
	now := time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)
	mux := newDirect(t, &logs, func(c *agentapi.Config) {
		c.Limits.Enroll = 1 << 20
		c.Now = func() time.Time { return now } // one second, however slow the machine
	})
	body := `{"enroll_secret":"nope","host_identifier":"` + strings.Repeat(`\u001b]52;c;AAAA\u0007`, 20<<10) + `"}`
	for range 50 {
		req := httptest.NewRequest("POST", "/api/v1/osquery/enroll", strings.NewReader(body))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `"node_invalid":true`) {
			t.Fatalf("refused enrollment answered %d %s", rec.Code, rec.Body)
		}
	}
	out := logs.String()
	lines := strings.Count(out, "\n")
	if lines != 1 {
		t.Errorf("50 refused enrollments within a second logged %d lines, want 1", lines)
	}
	if !strings.Contains(out, `"refusals_not_logged":0`) {
		t.Errorf("the first refusal's line should count none held back:\n%.300s", out)
	}
	if len(out) > 2048*lines {
		t.Errorf("log of %d bytes for %d lines:\n%.500s", len(out), lines, out)
	}
}

// TestEnrollmentFieldsBounded: whoever holds the enroll secret cannot store
// unbounded host names or details (159 KiB of enrollments made a 558 MB database
// and a 137 MiB hosts list).
func TestEnrollmentFieldsBounded(t *testing.T) {
	var logs syncBuffer
	e, _ := newSecEnv(t, &logs, func(c *agentapi.Config) { c.Limits.Enroll = 1 << 20 })
	long := strings.Repeat("é", 50<<10)
	body := `{"enroll_secret":"` + secret + `","host_identifier":"` + long + `","platform_type":"9",` +
		`"host_details":{"system_info":{"hostname":"` + long + `","uuid":"U-1"},"osquery_info":{"version":"` + long + `"},` +
		`"os_version":{"name":"Ubuntu","platform":"ubuntu"},"pad":{"x":"` + strings.Repeat("p", 200<<10) + `"}}}`
	r := e.post("/api/v1/osquery/enroll", body)
	if r.status != http.StatusOK || r.body["node_key"] == nil {
		t.Fatalf("enroll: %d %.200s", r.status, r.raw)
	}
	hosts, err := e.st.ListHosts(context.Background(), store.HostFilter{})
	if err != nil || len(hosts) != 1 {
		t.Fatalf("hosts: %v %v", hosts, err)
	}
	h := hosts[0]
	for name, v := range map[string]string{"identifier": h.Identifier, "hostname": h.Hostname, "osquery_version": h.OsqueryVersion} {
		if len(v) > 255 || !utf8.ValidString(v) {
			t.Errorf("%s stored with %d bytes (valid UTF-8: %v)", name, len(v), utf8.ValidString(v))
		}
	}
	if h.UUID != "U-1" || h.OSName != "Ubuntu" {
		t.Errorf("short fields changed: %+v", h)
	}
	if len(h.Details) > 16<<10 {
		t.Errorf("host_details stored with %d bytes", len(h.Details))
	}
}

// TestBadRequestDoesNotEcho: a 400 answer does not repeat what the client sent
// (it quoted a result line's action).
func TestBadRequestDoesNotEcho(t *testing.T) {
	var logs syncBuffer
	e, _ := newSecEnv(t, &logs, nil)
	key := e.enroll("h1", `"9"`, "U-1")
	const marker = "<img src=x onerror=alert(1)>MARKER-7731"
	r := e.post("/api/v1/osquery/log", `{"node_key":"`+key+`","log_type":"result","data":[{"name":"q","action":"`+marker+`"}]}`)
	if r.status != http.StatusBadRequest || strings.Contains(r.raw, "MARKER-7731") {
		t.Errorf("bad action: %d %s", r.status, r.raw)
	}
}

// TestHostLogQuota: a host that floods logs is refused (429, Retry-After) once
// over its byte quota, while another host is served; lines beyond MaxRowsPerPost
// in one request are refused whole (0.75 MiB sent grew the store by 515 MiB in 35 s).
func TestHostLogQuota(t *testing.T) {
	var logs syncBuffer
	quota := 0
	e, _ := newSecEnv(t, &logs, func(c *agentapi.Config) {
		c.HostLogRate, c.HostLogBurst, c.MaxRowsPerPost = 1024, 100<<10, 50
		c.OnQuota = func() { quota++ }
	})
	a := e.enroll("a", `"9"`, "U-A")
	b := e.enroll("b", `"9"`, "U-B")
	line := func(i int) string {
		return fmt.Sprintf(`{"name":"pack_x_q","action":"added","unixTime":%d,"columns":{"pad":"%s"}}`, 1785931200+i, strings.Repeat("x", 1000))
	}
	post := func(key string, from, n int) resp {
		var ls []string
		for i := from; i < from+n; i++ {
			ls = append(ls, line(i))
		}
		return e.post("/api/v1/osquery/log", `{"node_key":"`+key+`","log_type":"result","data":[`+strings.Join(ls, ",")+`]}`,
			"Authorization", "NodeKey "+key)
	}
	var refused resp
	for i := range 6 {
		if r := post(a, i*40, 40); r.status != http.StatusOK {
			refused = r
			break
		}
	}
	if refused.status != http.StatusTooManyRequests || quota == 0 {
		t.Fatalf("a host sending 6 x 40 KiB against a 100 KiB quota: last answer %d %s, quota callbacks %d", refused.status, refused.raw, quota)
	}
	if r := post(b, 0, 40); r.status != http.StatusOK {
		t.Errorf("another host was refused: %d %s", r.status, r.raw)
	}
	if r := post(b, 100, 51); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("51 lines with MaxRowsPerPost 50: %d %s, want 413", r.status, r.raw)
	}
}

// TestReenrollmentAudited: an enrollment with an enrolled host's UUID, which
// replaces that host's node key, is logged as a warning and audited (it took the
// host's record over silently).
func TestReenrollmentAudited(t *testing.T) {
	var logs syncBuffer
	e, _ := newSecEnv(t, &logs, func(c *agentapi.Config) { c.Audit = c.Hosts.(agentapi.AuditStore) })
	first := e.enroll("victim", `"9"`, "U-VICTIM")
	e.now = e.now.Add(time.Hour)
	e.enroll("attacker", `"9"`, "U-VICTIM")
	if r := e.post("/api/v1/osquery/config", `{"node_key":"`+first+`"}`); r.body["node_invalid"] != true {
		t.Fatalf("the first key still works: %s", r.raw)
	}
	entries, err := e.st.AuditLog(context.Background(), store.AuditFilter{Action: "host.reenroll"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "agent" || entries[0].Remote == "" {
		t.Errorf("audit of the re-enrollment: %+v %v", entries, err)
	}
	if !strings.Contains(logs.String(), "host re-enrolled") {
		t.Errorf("no warning in the log:\n%s", logs.String())
	}
}
