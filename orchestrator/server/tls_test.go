package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/server"
)

// TestTLSVersions: the server's TLS settings refuse TLS 1.0 and 1.1 and accept
// 1.2 (what osquery speaks) and 1.3.
func TestTLSVersions(t *testing.T) {
	dir := t.TempDir()
	cert, _, _, err := server.LoadOrCreateCert(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = server.TLSConfig(cert)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for _, tc := range []struct {
		name    string
		version uint16
		ok      bool
	}{
		{"TLS 1.0", tls.VersionTLS10, false},
		{"TLS 1.1", tls.VersionTLS11, false},
		{"TLS 1.2", tls.VersionTLS12, true},
		{"TLS 1.3", tls.VersionTLS13, true},
	} {
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost",
			MinVersion: tc.version, MaxVersion: tc.version})
		if err == nil {
			if got := conn.ConnectionState().Version; got != tc.version {
				t.Errorf("%s: negotiated %x", tc.name, got)
			}
			conn.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: handshake err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	// TLS 1.2 without CBC or SHA-1 suites (they were offered).
	for _, suite := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA} {
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost",
			MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
		if err == nil {
			conn.Close()
			t.Errorf("TLS 1.2 handshake with %s succeeded", tls.CipherSuiteName(suite))
		}
	}
}
