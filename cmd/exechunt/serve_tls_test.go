package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/server"
)

// serveBanner runs exechunt serve in-process with args (on 127.0.0.1:0, no
// secrets from the environment) until its banner is printed, and returns the
// banner; serve is stopped when the test ends.
func serveBanner(t *testing.T, args ...string) string {
	t.Helper()
	t.Setenv("EXECHUNT_ENROLL_SECRET", "")
	t.Setenv("EXECHUNT_ADMIN_TOKEN", "")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	root := newRootCmd()
	root.SetOut(pw)
	root.SetErr(io.Discard)
	root.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		go io.Copy(io.Discard, pr)
		<-done
	})
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "web UI:") {
			return banner.String()
		}
	}
	t.Fatalf("serve stopped before its banner: %v\n%s", <-done, banner.String())
	return ""
}

// TestServeTLSSAN: --tls-san names go into the self-signed certificate and the
// start-up hint's enroll-flags --server (enroll-flags' default); a certificate made earlier without a
// requested name is not replaced behind the hosts' back: serve refuses to start,
// saying how to have a new one made; a value that is no name is a usage error.
func TestServeTLSSAN(t *testing.T) {
	isolateUserConfig(t)
	data := t.TempDir()
	banner := serveBanner(t, "--data", data, "--tls-san", "hunt.example", "--tls-san", "192.0.2.10")
	for _, want := range []string{"certificate names (hosts connect by one of them): localhost, ", ", hunt.example, ", ", 192.0.2.10\n",
		"exechunt enroll-flags --data " + data + " --server https://hunt.example:", "serving on loopback only"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	// enroll-flags' default --server is the one the hint names.
	t.Setenv("EXECHUNT_SERVER", "")
	if out, stderr, code := runCLIErr(t, "enroll-flags", "--data", data); code != 0 || !strings.Contains(out, "--tls_hostname=hunt.example:") {
		t.Errorf("enroll-flags without --server: exit %d\n%s%s", code, out, stderr)
	}

	// The certificate now on disk lacks other.example.
	certFile := filepath.Join(data, server.CertFile)
	before, _ := os.ReadFile(certFile)
	_, stderr, code := runCLIErr(t, "serve", "--listen", "127.0.0.1:0", "--data", data, "--tls-san", "hunt.example,other.example")
	for _, want := range []string{"does not cover other.example", "delete " + certFile, "same --tls-san", "enroll-flags --out"} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	if after, _ := os.ReadFile(certFile); string(after) != string(before) {
		t.Error("serve replaced the certificate hosts pin")
	}

	// A certificate of the user's own (--tls-cert) is checked the same way.
	own := t.TempDir()
	ownCert, ownKey := filepath.Join(own, "c.pem"), filepath.Join(own, "k.pem")
	if _, _, _, err := server.LoadOrCreateCert(ownCert, ownKey, []string{"corp.example"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLIErr(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--tls-cert", ownCert,
		"--tls-key", ownKey, "--tls-san", "corp.example,other.example")
	if code != 1 || !strings.Contains(stderr, "--tls-cert "+ownCert+" does not cover other.example") {
		t.Errorf("own certificate without a --tls-san name: exit %d, %s", code, stderr)
	}

	for _, bad := range []string{"https://hunt.example", "hunt.example:8443", "a b"} {
		if _, stderr, code := runCLIErr(t, "serve", "--data", t.TempDir(), "--tls-san", bad); code != 2 || !strings.Contains(stderr, "--tls-san") {
			t.Errorf("--tls-san %q: exit %d, %s", bad, code, stderr)
		}
	}
}

// TestEnrollFlagsServerName: enroll-flags checks --server's name against the
// certificate the server serves, failing with what to do when it is not covered,
// warns that a loopback name reaches only the server's machine, and asks for
// --server when nothing names the server.
func TestEnrollFlagsServerName(t *testing.T) {
	isolateUserConfig(t)
	t.Setenv("EXECHUNT_SERVER", "")
	data := t.TempDir()
	if _, _, _, err := server.LoadOrCreateCert(filepath.Join(data, server.CertFile), filepath.Join(data, server.KeyFile),
		[]string{"hunt.example"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		server string
		code   int
		stdout string   // in stdout
		stderr []string // in stderr
	}{
		{"https://hunt.example:8443", 0, "--tls_hostname=hunt.example:8443\n", nil},
		{"https://other.example:8443", 1, "", []string{"covers localhost, hunt.example, 127.0.0.1, ::1, not other.example",
			"--tls-san other.example"}},
		{"https://127.0.0.1:8443", 0, "--tls_hostname=127.0.0.1:8443\n", []string{"warning: --tls_hostname 127.0.0.1:8443 is a loopback address",
			"--tls-san NAME"}},
		{"https://hunt.example", 0, "--tls_hostname=hunt.example\n", nil}, // osquery's default port, 443
		{"hunt.example:8443", 2, "", []string{"want https://host:port"}},
		{"", 2, "", []string{"no server: use --server https://NAME:PORT"}},
	} {
		args := []string{"enroll-flags", "--data", data}
		if tc.server != "" {
			args = append(args, "--server", tc.server)
		}
		stdout, stderr, code := runCLIErr(t, args...)
		if code != tc.code || !strings.Contains(stdout, tc.stdout) {
			t.Errorf("--server %q: exit %d (want %d), stdout:\n%s\nstderr: %s", tc.server, code, tc.code, stdout, stderr)
		}
		for _, w := range tc.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("--server %q: stderr lacks %q:\n%s", tc.server, w, stderr)
			}
		}
	}
}

// isolateUserConfig points the user's config folder (os.UserConfigDir) at a new
// temporary one and returns it, so that a test starts without a client config
// there (TestMain keeps every test off the real one).
func isolateUserConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("AppData", dir)
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" || runtime.GOOS == "plan9" {
		t.Setenv("HOME", dir)
	}
	d, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestClientConfigFromAnywhere: serve writes its client config into the user's
// config folder too, so the fleet commands find the server, and enroll-flags and
// simulate its data directory, from any folder; a client config there written by
// hand is left alone (and read), and the banner says which.
func TestClientConfigFromAnywhere(t *testing.T) {
	userDir := isolateUserConfig(t)
	t.Setenv("EXECHUNT_SERVER", "")
	t.Setenv("EXECHUNT_TOKEN", "")
	t.Setenv("EXECHUNT_CA_FILE", "")
	t.Setenv("EXECHUNT_CLIENT_CONFIG", "")
	data := t.TempDir()
	userCC := filepath.Join(userDir, "exechunt", "client.json")
	banner := serveBanner(t, "--data", data)
	if !strings.Contains(banner, "or from any folder "+userCC) {
		t.Errorf("banner does not name %s:\n%s", userCC, banner)
	}

	t.Chdir(t.TempDir()) // not the repository, no ./exechunt-data
	var api apiFlags
	srv, tok, ca, err := api.resolve()
	if err != nil || !strings.HasPrefix(srv, "https://127.0.0.1:") || tok == "" || ca != filepath.Join(data, server.CertFile) {
		t.Errorf("resolve from another folder: %q %q %q %v", srv, tok, ca, err)
	}
	if got := dataDir(""); got != data {
		t.Errorf("data directory from another folder: %q, want %q", got, data)
	}
	if out, stderr, code := runCLIErr(t, "enroll-flags"); code != 0 || !strings.Contains(out, "--tls_hostname=127.0.0.1:") {
		t.Errorf("enroll-flags from another folder: exit %d\n%s%s", code, out, stderr)
	}

	// A client config written by hand is the user's: serve leaves it alone.
	own := `{"server": "https://hunt.example:8443", "token": "t"}` + "\n"
	if err := os.WriteFile(userCC, []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	banner = serveBanner(t, "--data", t.TempDir())
	if b, _ := os.ReadFile(userCC); string(b) != own || !strings.Contains(banner, userCC+" is not serve's: left alone") {
		t.Errorf("a hand-written client config: now %q; banner:\n%s", b, banner)
	}
	if srv, _, _, err := api.resolve(); srv != "https://hunt.example:8443" || err != nil {
		t.Errorf("resolve: %q %v, want the hand-written config's server", srv, err)
	}
}
