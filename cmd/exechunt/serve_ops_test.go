package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		ok            bool
		want          string // in the output of log.Info("hello", "k", "v")
	}{
		{"json", "info", true, `"msg":"hello","k":"v"`},
		{"text", "info", true, `msg=hello k=v`},
		{"json", "warn", true, ``},
		{"json", "DEBUG", true, `"level":"INFO"`},
		{"yaml", "info", false, ""},
		{"json", "loud", false, ""},
	} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, tc.format, tc.level)
		if (err == nil) != tc.ok {
			t.Errorf("newLogger(%q, %q) err = %v, want ok=%v", tc.format, tc.level, err, tc.ok)
			continue
		}
		if err != nil {
			continue
		}
		log.Info("hello", "k", "v")
		if got := buf.String(); tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("newLogger(%q, %q) wrote %q, want %q", tc.format, tc.level, got, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeOperations runs serve in-process with text logs and checks /healthz,
// /readyz and /metrics (token required) over TLS.
func TestServeOperations(t *testing.T) {
	t.Setenv("EXECHUNT_ENROLL_SECRET", "")
	t.Setenv("EXECHUNT_ADMIN_TOKEN", "")
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, outW, &errOut, serveFlags{listen: "127.0.0.1:0", data: data, logFormat: "text", logLevel: "info"})
		outW.Close()
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var url string
	sc := bufio.NewScanner(outR)
	for sc.Scan() && url == "" {
		if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
			url = strings.Fields(u)[0]
		}
	}
	go io.Copy(io.Discard, outR)
	if url == "" {
		t.Fatalf("no URL; stderr:\n%s", errOut.String())
	}
	ca, err := os.ReadFile(filepath.Join(data, "tls", "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(data, "admin_token"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	for _, tc := range []struct {
		path, token string
		code        int
		want        string
	}{
		{"/healthz", "", 200, `"status":"ok"`},
		{"/readyz", "", 200, `"status":"ready"`},
		{"/metrics", "", 401, `missing bearer token`},
		{"/metrics", strings.TrimSpace(string(token)), 200, `exechunt_hosts_online 0`},
	} {
		req, _ := http.NewRequest("GET", url+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s = %d %q, want %d with %q", tc.path, resp.StatusCode, b, tc.code, tc.want)
		}
	}
	logs := errOut.String()
	if !strings.Contains(logs, "level=INFO msg=serving") {
		t.Errorf("no text log line for serving in:\n%s", logs)
	}
	if json.Valid([]byte(strings.SplitN(logs, "\n", 2)[0])) {
		t.Errorf("--log-format text wrote JSON:\n%s", logs)
	}
}
