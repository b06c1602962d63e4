package server_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestSelfSignedIsAPinnedLeaf: the created certificate is not a CA (it was one,
// valid 5 years: its key could mint certificates for any name that agents pinning
// it would trust), a certificate minted with its key for another name does not
// verify, OpenSSL (which osquery links) accepts it pinned as its own anchor, and
// an expired one is refused at start with what to do.
func TestSelfSignedIsAPinnedLeaf(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	now := time.Now()
	cert, _, created, err := server.LoadOrCreateCert(certFile, keyFile, []string{"hunt.example"}, now)
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	leaf := cert.Leaf
	if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Errorf("IsCA=%v KeyUsage=%b: the self-signed certificate can sign certificates", leaf.IsCA, leaf.KeyUsage)
	}
	if life := leaf.NotAfter.Sub(now); life > server.SelfSignedValidity {
		t.Errorf("valid for %v, want at most %v", life, server.SelfSignedValidity)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "hunt.example"}); err != nil {
		t.Errorf("pinned certificate does not verify for its own name: %v", err)
	}
	minted := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "evil"},
		DNSNames: []string{"evil.example"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	key := cert.PrivateKey.(*ecdsa.PrivateKey)
	der, err := x509.CreateCertificate(rand.Reader, minted, leaf, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	mc, _ := x509.ParseCertificate(der)
	if _, err := mc.Verify(x509.VerifyOptions{Roots: pool, DNSName: "evil.example"}); err == nil {
		t.Error("a certificate minted with the pinned key verifies for another name")
	}

	if path, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed: OpenSSL's view of the pinned certificate not checked")
	} else {
		out, err := exec.Command(path, "verify", "-purpose", "sslserver", "-verify_hostname", "hunt.example",
			"-CAfile", certFile, certFile).CombinedOutput()
		if err != nil {
			t.Errorf("openssl verify of the pinned certificate: %v\n%s", err, out)
		}
		mf := filepath.Join(dir, "minted.pem")
		if err := os.WriteFile(mf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(path, "verify", "-CAfile", certFile, mf).CombinedOutput(); err == nil {
			t.Errorf("openssl trusts a certificate minted with the pinned key:\n%s", out)
		}
	}

	_, _, _, err = server.LoadOrCreateCert(certFile, keyFile, nil, leaf.NotAfter.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "delete") {
		t.Errorf("expired certificate: err = %v, want a refusal that says what to do", err)
	}
}

// TestCertNamesAndSANs: a created certificate covers the names asked for (DNS
// names and IP addresses) besides localhost and loopback, CertMissing names what
// it does not cover, and CheckSAN refuses what a certificate cannot name.
func TestCertNamesAndSANs(t *testing.T) {
	dir := t.TempDir()
	cert, _, _, err := server.LoadOrCreateCert(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"),
		[]string{"hunt.example", "192.0.2.10", "0.0.0.0"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(server.CertNames(cert.Leaf), ",")
	if names != "localhost,hunt.example,127.0.0.1,::1,192.0.2.10" {
		t.Errorf("names %s", names)
	}
	for _, tc := range []struct {
		names, missing []string
	}{
		{[]string{"hunt.example", "HUNT.example", "192.0.2.10", "127.0.0.1", "localhost"}, nil},
		{[]string{"hunt.example", "other.example", "192.0.2.11"}, []string{"other.example", "192.0.2.11"}},
	} {
		if got := server.CertMissing(cert.Leaf, tc.names); strings.Join(got, ",") != strings.Join(tc.missing, ",") {
			t.Errorf("CertMissing(%v) = %v, want %v", tc.names, got, tc.missing)
		}
	}
	for name, ok := range map[string]bool{"hunt.example.com": true, "h-1": true, "*.example.com": true, "10.0.0.5": true,
		"2001:db8::1": true, "https://hunt.example": false, "hunt.example:8443": false, "": false, "a b": false,
		"-bad.example": false, "a..b": false} {
		if err := server.CheckSAN(name); (err == nil) != ok {
			t.Errorf("CheckSAN(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
