package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// serveProc is one run of `exechunt serve`.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	url    string   // the URL of its banner
	banner []string // the banner's lines, to "CLI:"
}

// startServe starts `bin serve` on listen ("127.0.0.1:0": any free port) with the
// data dir data and no secrets from the environment, and waits for its banner. It
// is interrupted when the test ends (its stderr shown if the test failed); tests
// that kill or restart it stop it themselves first.
func startServe(t *testing.T, bin, data, listen string, extra ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", listen, "--data", data}, extra...)...)
	cmd.Env = append(os.Environ(), "EXECHUNT_ENROLL_SECRET=", "EXECHUNT_ADMIN_TOKEN=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("serve stderr (tail):\n%s", tail(p.stderr.String(), 4000))
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		p.banner = append(p.banner, line)
		if _, u, ok := strings.Cut(line, "listening on "); ok {
			p.url = strings.Fields(u)[0]
		}
		if strings.HasPrefix(line, "CLI:") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if p.url == "" {
		t.Fatalf("serve did not start; banner:\n%s", strings.Join(p.banner, "\n"))
	}
	return p
}

// trustingClient is an HTTP client that trusts the certificate serve made in data
// (timeout 0: none).
func trustingClient(t *testing.T, data string, timeout time.Duration) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(data, server.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// freeAddr returns a 127.0.0.1 address with a port free a moment ago, for a serve
// that must come back on the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// inProcess is an orchestrator run in the test's process: c with an embedded
// SQLite store in a temporary folder, seeded with an enroll secret and an admin
// token, served over httptest TLS and running (scheduler, stacking) until the
// test ends. Its "hunt run …" log messages arrive on logs (see runHunt).
type inProcess struct {
	ts            *httptest.Server
	secret, token string
	logs          chan string
}

func startInProcess(ctx context.Context, t *testing.T, c server.Config) inProcess {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := inProcess{secret: "enroll-secret", token: "admin-token", logs: make(chan string, 1024)}
	now := time.Now()
	if err := server.SeedEnrollSecret(ctx, st, p.secret, now); err != nil {
		t.Fatal(err)
	}
	if err := server.SeedAdminToken(ctx, st, p.token, now); err != nil {
		t.Fatal(err)
	}
	c.Store, c.Log = st, slog.New(logEvents{p.logs})
	srv, err := server.New(c)
	if err != nil {
		t.Fatal(err)
	}
	p.ts = httptest.NewTLSServer(srv.Handler())
	t.Cleanup(p.ts.Close)
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(runCtx) }()
	t.Cleanup(func() { stopRun(); <-runDone })
	return p
}

// api is a client of the in-process server with the admin token.
func (p inProcess) api() *client.Client {
	return client.NewWithHTTPClient(p.ts.URL, p.token, p.ts.Client())
}
