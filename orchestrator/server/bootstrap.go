package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// Files in the data directory.
const (
	DBFile           = "exechunt.db"
	CertFile         = "tls/server.crt"
	KeyFile          = "tls/server.key"
	EnrollSecretFile = "enroll_secret"
	AdminTokenFile   = "admin_token"
	ClientConfigFile = "client.json"
)

// TLSConfig returns the server's TLS settings: TLS 1.2 or newer (osquery speaks
// 1.2), and on 1.2 only forward-secret AEAD suites (no CBC, no SHA-1 MACs), with
// the given certificate.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, CipherSuites: []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}}
}

// SelfSignedValidity is how long a created certificate is valid: two years, after
// which serve refuses to start with it until it is renewed (delete both files
// and restart, then hand agents the new bundle).
const SelfSignedValidity = 2 * 365 * 24 * time.Hour

// ExpiresSoon is how long before a certificate's end serve warns at start.
const ExpiresSoon = 30 * 24 * time.Hour

// LoadOrCreateCert loads certFile/keyFile, creating a self-signed ECDSA P-256 pair
// valid for hosts (plus localhost and loopback addresses) when both are absent.
// It returns the certificate, its SHA-256 fingerprint and whether it was created.
func LoadOrCreateCert(certFile, keyFile string, hosts []string, now time.Time) (tls.Certificate, string, bool, error) {
	_, errC := os.Stat(certFile)
	_, errK := os.Stat(keyFile)
	created := false
	if errors.Is(errC, os.ErrNotExist) && errors.Is(errK, os.ErrNotExist) {
		if err := createCert(certFile, keyFile, hosts, now); err != nil {
			return tls.Certificate{}, "", false, err
		}
		created = true
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", false, fmt.Errorf("loading TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return tls.Certificate{}, "", false, fmt.Errorf("parsing TLS certificate %s: %w", certFile, err)
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, "", false, fmt.Errorf("TLS certificate %s expired on %s: agents will refuse it; "+
			"renew it (or delete %s and %s to have a new self-signed pair made, then run enroll-flags again)",
			certFile, leaf.NotAfter.Format(time.DateOnly), certFile, keyFile)
	}
	cert.Leaf = leaf
	sum := sha256.Sum256(cert.Certificate[0])
	return cert, Fingerprint(sum[:]), created, nil
}

// CertNames returns the names a certificate covers: its DNS names, then its IP
// addresses.
func CertNames(leaf *x509.Certificate) []string {
	out := slices.Clone(leaf.DNSNames)
	for _, ip := range leaf.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// CertMissing returns the names (DNS names or IP addresses) that leaf does not
// cover, as a TLS client checks a server's name against it.
func CertMissing(leaf *x509.Certificate, names []string) []string {
	var out []string
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			out = append(out, n)
		}
	}
	return out
}

// CheckSAN checks that name is something a certificate can name: an IP address
// or a DNS name (letters, digits, hyphens and dots; "*." first for a wildcard),
// not a URL or a host:port.
func CheckSAN(name string) error {
	if net.ParseIP(name) != nil || dnsName.MatchString(name) && len(name) <= 253 {
		return nil
	}
	return fmt.Errorf("%q: want a DNS name or an IP address (no scheme or port)", name)
}

var dnsName = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// Fingerprint formats a SHA-256 sum as AA:BB:….
func Fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func createCert(certFile, keyFile string, hosts []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "exechunt orchestrator", Organization: []string{"exechunt"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(SelfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// Not a CA: osquery pins this very certificate (--tls_server_certs) and
		// OpenSSL accepts a self-signed leaf as its own trust anchor, so its key
		// cannot mint certificates for other names that agents would trust.
		IsCA: false,
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return err
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// RandomSecret returns 256 random bits, base64url-encoded.
func RandomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// SecretFromEnvOrFile returns the value of env when set; otherwise the contents of
// file, creating it (mode 0600) with a random secret when absent. The path is ""
// when the value came from the environment.
func SecretFromEnvOrFile(env, file string) (value, path string, err error) {
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		return v, "", nil
	}
	b, err := os.ReadFile(file)
	if err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, file, nil
		}
		return "", "", fmt.Errorf("%s is empty", file)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	v, err := RandomSecret()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", "", err
	}
	if err := writeFile(file, []byte(v+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return v, file, nil
}

// ErrSeedNotValid means a seeded secret or token was revoked (or rotated out)
// through the API; it is not brought back, and the server runs without it.
var ErrSeedNotValid = errors.New("revoked or rotated out through the API")

// SeedEnrollSecret makes secret the first enroll secret of an empty store
// (idempotent). Once the store has secrets they are managed through the API
// (rotation): a seed revoked there is not re-added at the next start, and
// ErrSeedNotValid says so.
func SeedEnrollSecret(ctx context.Context, s store.Secrets, secret string, now time.Time) error {
	h := agentapi.HashSecret(secret)
	have, err := s.EnrollSecrets(ctx)
	if err != nil {
		return err
	}
	for _, e := range have {
		if string(e.Hash) == string(h) {
			return nil
		}
	}
	if len(have) > 0 {
		return ErrSeedNotValid
	}
	name := "seed-" + hex.EncodeToString(h[:4])
	err = s.AddEnrollSecret(ctx, store.EnrollSecret{Name: name, Hash: h, CreatedAt: now})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// SeedAdminToken makes sure token is an admin API token (idempotent). A seeded
// token revoked or expired since is not brought back (ErrSeedNotValid).
func SeedAdminToken(ctx context.Context, s store.Tokens, token string, now time.Time) error {
	h := operatorapi.HashToken(token)
	t, err := s.TokenByHash(ctx, h)
	switch {
	case err == nil && !t.Valid(now):
		return ErrSeedNotValid
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	_, err = s.CreateToken(ctx, store.Token{Name: "admin", Role: apiv1.RoleAdmin, Hash: h, CreatedAt: now})
	return err
}
