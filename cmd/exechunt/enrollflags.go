package main

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/server"
)

// hostPaths are where the bundle's files go on a host of a platform.
type hostPaths struct{ dir, ext string }

var enrollPlatforms = map[string]hostPaths{
	"linux":   {"/etc/osquery", "/usr/local/lib/exechunt/exechunt.ext"},
	"darwin":  {"/var/osquery", "/usr/local/lib/exechunt/exechunt.ext"},
	"windows": {`C:\Program Files\osquery`, `C:\Program Files\osquery\extensions\exechunt.ext.exe`},
}

func newEnrollFlagsCmd() *cobra.Command {
	var serverURL, data, out, platform, ext, caFile string
	cmd := &cobra.Command{
		Use:   "enroll-flags [flags]",
		Short: "Print the osqueryd flag file (and extensions.load line) that enrolls a host",
		Long: `Prints an osqueryd flag file that enrolls the host to the orchestrator and uses its
TLS config, logger and distributed plugins, followed by the extensions.load line for
exechunt.ext. With --out DIR it writes a bundle to copy to the host: exechunt.flags,
extensions.load, exechunt-ca.pem (the server certificate to pin) and
exechunt.secret (the enroll secret, mode 0600), with the paths of --platform.

--server is the orchestrator as hosts reach it (default: $EXECHUNT_SERVER, else the
one serve's start-up hint names, from the data directory's client.json: the first
serve --tls-san name, else serve's own URL). osquery checks its name
(--tls_hostname) against the server's certificate, so enroll-flags does too,
against the certificate in the bundle: a name it does not cover fails with what to
do (serve --tls-san NAME); a loopback name draws a warning, since only an osqueryd
on the server's machine reaches it.`,
		Example: `  exechunt enroll-flags --server https://hunt.example.com:8443
  exechunt enroll-flags --platform windows --out ./bundle-windows`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, ok := enrollPlatforms[platform]
			if !ok {
				return usageError{fmt.Errorf("--platform %q: want linux, darwin or windows", platform)}
			}
			if ext != "" {
				p.ext = ext
			}
			data = dataDir(data)
			if serverURL == "" {
				serverURL = os.Getenv("EXECHUNT_SERVER")
			}
			if serverURL == "" {
				if c, err := readClientConfig(filepath.Join(data, server.ClientConfigFile)); err == nil {
					serverURL = cmp.Or(c.EnrollServer, c.Server)
				}
			}
			if serverURL == "" {
				return usageError{fmt.Errorf("no server: use --server https://NAME:PORT, the orchestrator as hosts reach it " +
					"(or --data, the data directory of exechunt serve, whose client.json names it)")}
			}
			u, err := url.Parse(serverURL)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				return usageError{fmt.Errorf("--server %q: want https://host:port", serverURL)}
			}
			errOut := cmd.ErrOrStderr()
			if err := checkServerName(u.Hostname(), servedCert(data, caFile)); errors.Is(err, errNameNotCovered) {
				return fmt.Errorf("--server %s: %w", serverURL, err)
			} else if err != nil {
				fmt.Fprintf(errOut, "exechunt: warning: cannot check the name %s against the server's certificate: %v\n", u.Hostname(), err)
			}
			if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
				fmt.Fprintf(errOut, "exechunt: warning: --tls_hostname %s is a loopback address: only an osqueryd on the server's machine reaches it; "+
					"for other hosts run serve with --listen 0.0.0.0:%[2]s --tls-san NAME and use --server https://NAME:%[2]s\n", u.Host, cmp.Or(u.Port(), "8443"))
			}
			flags := enrollFlagFile(u.Host, p, platform)
			if out == "" {
				w := cmd.OutOrStdout()
				io.WriteString(w, flags)
				fmt.Fprintf(w, "# extensions.load (one line): %s\n", p.ext)
				return nil
			}
			return writeEnrollBundle(cmd.OutOrStdout(), out, data, caFile, flags, p)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&serverURL, "server", "", "orchestrator URL as hosts reach it, https://NAME:PORT; NAME must be one the server's certificate covers (default: $EXECHUNT_SERVER or the data dir's client.json)")
	addDataFlag(cmd, &data, "certificate, enroll secret")
	fl.StringVar(&out, "out", "", "write the bundle (flags, extensions.load, CA, secret) to this directory")
	fl.StringVar(&platform, "platform", "linux", "host platform for paths: linux, darwin or windows")
	fl.StringVar(&ext, "ext", "", "path of exechunt.ext on the host (default per platform)")
	fl.StringVar(&caFile, "ca-file", "", "certificate for hosts to pin (default: the one serve serves, from the data dir's client.json)")
	return cmd
}

func join(p hostPaths, platform, name string) string {
	if platform == "windows" {
		return p.dir + `\` + name
	}
	return p.dir + "/" + name
}

func enrollFlagFile(hostport string, p hostPaths, platform string) string {
	const api = "/api/v1/osquery"
	lines := []string{
		"# exechunt: osqueryd flags (osqueryd --flagfile " + join(p, platform, "exechunt.flags") + ")",
		"--tls_hostname=" + hostport,
		"--tls_server_certs=" + join(p, platform, "exechunt-ca.pem"),
		"--enroll_secret_path=" + join(p, platform, "exechunt.secret"),
		"--enroll_tls_endpoint=" + api + "/enroll",
		"--host_identifier=uuid",
		"--config_plugin=tls",
		"--config_tls_endpoint=" + api + "/config",
		"--config_refresh=300",
		"--config_accelerated_refresh=60",
		"--logger_plugin=tls",
		"--logger_tls_endpoint=" + api + "/log",
		"--logger_tls_period=10",
		"--logger_tls_compress=true",
		"--disable_distributed=false",
		"--distributed_plugin=tls",
		"--distributed_interval=10",
		"--distributed_tls_max_attempts=3",
		"--distributed_tls_read_endpoint=" + api + "/distributed/read",
		"--distributed_tls_write_endpoint=" + api + "/distributed/write",
		"--disable_extensions=false",
		"--extensions_autoload=" + join(p, platform, "extensions.load"),
		"--extensions_timeout=10",
		"--extensions_interval=5",
	}
	return strings.Join(lines, "\n") + "\n"
}

// servedCert is the certificate the server serves: the ca_file serve wrote into
// the data directory's client.json (its --tls-cert, or the self-signed one), else
// the self-signed one, unless caFile names one.
func servedCert(data, caFile string) string {
	if caFile != "" {
		return caFile
	}
	var cc clientConfig
	if b, err := os.ReadFile(filepath.Join(data, server.ClientConfigFile)); err == nil && json.Unmarshal(b, &cc) == nil && cc.CAFile != "" {
		return cc.CAFile
	}
	return filepath.Join(data, server.CertFile)
}

// errNameNotCovered is checkServerName's answer for a name the certificate does
// not cover: osquery would refuse the server.
var errNameNotCovered = errors.New("the server's certificate does not cover this name")

// checkServerName checks that the certificate in certFile covers name, as
// osquery checks --tls_hostname against the certificate it is served. A name not
// covered is errNameNotCovered, wrapped with what to do; a certificate that
// cannot be read is another error (nothing is known).
func checkServerName(name, certFile string) error {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return fmt.Errorf("%s: no PEM certificate", certFile)
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", certFile, err)
	}
	if len(server.CertMissing(leaf, []string{name})) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s covers %s, not %s, so osquery would refuse the connection; "+
		"start serve with --tls-san %s (serve --help says how a certificate it made earlier is replaced), "+
		"or use --server with a name the certificate covers",
		errNameNotCovered, certFile, strings.Join(server.CertNames(leaf), ", "), name, name)
}

// writeBundleFile writes one file of the bundle with exactly mode, refusing to
// write through a symbolic link (the bundle holds the enroll secret).
func writeBundleFile(dir, name, data string, mode os.FileMode) error {
	path := filepath.Join(dir, name)
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file (a link?): not writing the bundle through it", path)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile keeps an existing file's mode
}

// enrollSecret returns the enroll secret hosts present and where it came from:
// file when set, else $EXECHUNT_ENROLL_SECRET, else the data directory's file
// (written by serve). Unlike serve it never makes one up.
func enrollSecret(data, file string) (secret, source string, err error) {
	if file == "" {
		if secret = os.Getenv("EXECHUNT_ENROLL_SECRET"); secret != "" {
			return secret, "EXECHUNT_ENROLL_SECRET", nil
		}
		file = filepath.Join(data, server.EnrollSecretFile)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("enroll secret (set EXECHUNT_ENROLL_SECRET or use --data): %w", err)
	}
	return strings.TrimSpace(string(b)), file, nil
}

func writeEnrollBundle(w io.Writer, out, data, caFile, flags string, p hostPaths) error {
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	caPath := servedCert(data, caFile)
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return fmt.Errorf("server certificate %s (run exechunt serve first, or use --data or --ca-file): %w", caPath, err)
	}
	secret, _, err := enrollSecret(data, "")
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data string
		mode os.FileMode
	}{
		{"exechunt.flags", flags, 0o644},
		{"extensions.load", p.ext + "\n", 0o644},
		{"exechunt-ca.pem", string(ca), 0o644},
		{"exechunt.secret", secret + "\n", 0o600},
	}
	if secret == "" {
		return errors.New("empty enroll secret")
	}
	for _, f := range files {
		if err := writeBundleFile(out, f.name, f.data, f.mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "wrote %s: exechunt.flags, extensions.load, exechunt-ca.pem, exechunt.secret (copy them to %s)\n", out, p.dir)
	return nil
}
