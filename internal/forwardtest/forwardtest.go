// Package forwardtest holds the receivers forwarding tests deliver to: a
// loopback HTTPS webhook receiver that verifies signatures as
// docs/forwarding.md tells receivers to, and Debian's rsyslogd listening on a
// loopback port (imtcp).
package forwardtest

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/forward"
)

// Secret is the receivers' HMAC secret.
const Secret = "0123456789abcdef-test-secret"

// SecretFile writes Secret to a file of the test's and returns its path.
func SecretFile(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Receiver is a loopback HTTPS webhook receiver.
type Receiver struct {
	srv    *httptest.Server
	caFile string
	// Down makes it answer 503 while set.
	Down atomic.Bool

	mu       sync.Mutex
	requests int
	events   []apiv1.ForwardEvent
	bad      []string
}

// NewReceiver starts a receiver until the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 16<<20))
		r.mu.Lock()
		defer r.mu.Unlock()
		err := forward.Verify([]byte(Secret), req.Header.Get(forward.TimestampHeader),
			req.Header.Get(forward.SignatureHeader), body, time.Now(), 5*time.Minute)
		if ct := req.Header.Get("Content-Type"); err == nil && ct != "application/json" {
			err = fmt.Errorf("content type %q", ct)
		}
		if err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if r.Down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var batch []apiv1.ForwardEvent
		if err := json.Unmarshal(body, &batch); err != nil {
			r.bad = append(r.bad, "body: "+err.Error())
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.requests++
		r.events = append(r.events, batch...)
	}))
	t.Cleanup(r.srv.Close)
	r.caFile = filepath.Join(t.TempDir(), "receiver-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(r.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// URL is the receiver's --forward URL with secretFile and its CA; extra is
// appended to the query ("&min_rank=0.5").
func (r *Receiver) URL(secretFile, extra string) string {
	return r.srv.URL + "/hook?secret_file=" + url.QueryEscape(secretFile) + "&ca_file=" + url.QueryEscape(r.caFile) + extra
}

// Events returns the events accepted so far, in the order received.
func (r *Receiver) Events() []apiv1.ForwardEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]apiv1.ForwardEvent(nil), r.events...)
}

// IDs returns the anomaly ids of the events accepted so far.
func (r *Receiver) IDs() []string {
	var out []string
	for _, e := range r.Events() {
		out = append(out, e.Anomaly.ID)
	}
	return out
}

// Requests is the number of requests accepted.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Refused returns why requests were refused (bad signature, body).
func (r *Receiver) Refused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bad...)
}

// WaitFor polls cond until it holds; the guard only stops a hung test.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Rsyslog is rsyslogd receiving on a loopback TCP port.
type Rsyslog struct {
	Addr string // host:port of its imtcp input
	out  string
}

// StartRsyslog starts Debian's rsyslogd with an imtcp input on a loopback port
// writing every message it receives to a file (RFC 5424 format) until the test
// ends; it skips the test when rsyslogd is not installed.
func StartRsyslog(t testing.TB) *Rsyslog {
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/rsyslogd"); err != nil {
			t.Skip("rsyslogd not installed (apt-get install rsyslog; .ci/run does): skipping the syslog receiver test")
		}
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &Rsyslog{Addr: fmt.Sprintf("127.0.0.1:%d", port), out: filepath.Join(dir, "out.log")}
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`global(workDirectory="%s")
module(load="imtcp")
ruleset(name="exechunt") {
  action(type="omfile" file="%s" template="RSYSLOG_SyslogProtocol23Format")
}
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="exechunt")
`, dir, r.out, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	WaitFor(t, "rsyslogd listening on "+r.Addr, func() bool {
		c, err := net.DialTimeout("tcp", r.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return r
}

// Lines returns the messages rsyslogd has written so far.
func (r *Rsyslog) Lines() []string {
	b, _ := os.ReadFile(r.out)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
