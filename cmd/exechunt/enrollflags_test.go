package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/orchestrator/server"
)

// TestEnrollBundle: the bundle pins the certificate serve serves (its --tls-cert,
// named in client.json, not the self-signed one), writes the secret 0600 even
// over a wider existing file, and refuses to write through a symbolic link.
func TestEnrollBundle(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes and links")
	}
	data, out := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(data, "tls"), 0o700)
	os.WriteFile(filepath.Join(data, server.CertFile), []byte("SELF-SIGNED"), 0o600)
	served := filepath.Join(t.TempDir(), "company.pem")
	os.WriteFile(served, []byte("COMPANY-CERT"), 0o644)
	if err := writeClientConfig(filepath.Join(data, server.ClientConfigFile), clientConfig{Server: "https://h:8443", CAFile: served}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "exechunt.secret"), []byte("old"), 0o644)
	t.Setenv("EXECHUNT_ENROLL_SECRET", "the-enroll-secret-1234")
	if _, stderr, code := runCLIErr(t, "enroll-flags", "--data", data, "--out", out, "--server", "https://h:8443"); code != 0 {
		t.Fatalf("enroll-flags: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "exechunt-ca.pem")); string(b) != "COMPANY-CERT" {
		t.Errorf("bundled certificate %q, want the one serve serves", b)
	}
	if fi, err := os.Stat(filepath.Join(out, "exechunt.secret")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v %v, want 0600", fi.Mode(), err)
	}

	out2 := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	os.Symlink(victim, filepath.Join(out2, "exechunt.secret"))
	_, stderr, code := runCLIErr(t, "enroll-flags", "--data", data, "--out", out2, "--server", "https://h:8443")
	if b, _ := os.ReadFile(victim); code == 0 || string(b) != "keep" || !strings.Contains(stderr, "not a regular file") {
		t.Errorf("bundle through a link: exit %d, victim %q, %s", code, b, stderr)
	}
}
