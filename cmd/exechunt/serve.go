package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/forward"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/server"
)

type serveFlags struct {
	listen, data, cert, key, packsDir string
	sans                              []string // --tls-san: names the certificate must cover
	sigma                             []string // Sigma rule files/folders converted into packs
	db                                string   // "" (SQLite in data) or a postgres:// URL
	baseline                          time.Duration
	retention                         time.Duration // --retention; 0: keep everything
	logFormat, logLevel               string
	metricsPublic                     bool
	accelerateMax                     int           // --accelerate-max-hosts; 0: never
	replicaID                         string        // holder name in the scheduler lease
	leaseTTL                          time.Duration // scheduler lease ttl
	pprof                             string        // address of the net/http/pprof listener; "" for none
	forward                           []string      // --forward destination URLs
	forwardSecret                     string        // --forward-secret-file: webhooks' default HMAC secret
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the orchestrator: osquery TLS API for agents, operator API, embedded store",
		Long: `Serves osquery's TLS remote API (enroll, config, log, distributed read/write) to
osqueryd agents and the operator API (/api/v1/…) to the CLI, over HTTPS (TLS 1.2+),
with an embedded SQLite store in the data directory (or PostgreSQL with
--db postgres://…) and the built-in packs.

Without --tls-cert/--tls-key a self-signed pair is created in the data directory on
first start, for localhost, the loopback addresses, the --listen address, this
machine's hostname and each --tls-san name: hosts connect by one of these names
(osquery's --tls_hostname, enroll-flags --server). Its SHA-256 fingerprint and
names are printed. Hosts pin that certificate, so serve never replaces it on its
own: when it lacks a --tls-san name, serve refuses to start and says how to have a
new one made (delete the pair, restart, hand the hosts the new bundle). With
--tls-cert, serve refuses a certificate that lacks a --tls-san name.
EXECHUNT_ENROLL_SECRET and
EXECHUNT_ADMIN_TOKEN seed the first enroll secret and admin API token; otherwise
both are generated into the data directory (mode 0600). Logs go to stderr, one JSON
object a line by default (--log-format text for key=value lines).

Operations: GET /healthz (liveness), GET /readyz (the store answers; 503 otherwise)
and GET /metrics (Prometheus; needs an API token of any role unless
--metrics-public). See docs/operations.md.

Several replicas may serve one --db behind a load balancer: agents and operators
may hit any of them, and the cron hunts fire on the replica holding the scheduler
lease (--replica-id, --lease-ttl). See docs/store.md.

--forward URL (repeatable) sends anomaly events (opened, rank raised, triaged)
to a signed HTTPS webhook, a syslog server (syslog+tcp://, syslog+tls://) or a
rotated JSON-lines file (file:///…), at least once, through an outbox in the
store; exechunt forwarding status shows the queues. See docs/forwarding.md.`,
		Example: `  exechunt serve
  exechunt serve --listen 0.0.0.0:8443 --tls-san hunt.example.com --tls-san 192.0.2.10 --data /var/lib/exechunt
  exechunt serve --sigma ./sigma/rules/windows/process_creation
  exechunt serve --db 'postgres://exechunt@db.example:5432/exechunt?sslmode=verify-full'
  exechunt serve --db 'postgres://…' --replica-id orch-2 --tls-cert shared.pem --tls-key shared.key
  EXECHUNT_ENROLL_SECRET=... exechunt serve --tls-cert server.pem --tls-key server.key
  exechunt serve --forward-secret-file /etc/exechunt/hook.secret --forward 'https://siem.example/hook?min_rank=0.5' \
    --forward syslog+tls://logs.example:6514 --forward file:///var/log/exechunt/anomalies.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (f.cert == "") != (f.key == "") {
				return usageError{errors.New("--tls-cert and --tls-key go together")}
			}
			for _, n := range f.sans {
				if err := server.CheckSAN(n); err != nil {
					return usageError{fmt.Errorf("--tls-san %w", err)}
				}
			}
			if f.leaseTTL < time.Second {
				return usageError{fmt.Errorf("--lease-ttl %v: want at least 1s", f.leaseTTL)}
			}
			if _, err := newLogger(io.Discard, f.logFormat, f.logLevel); err != nil {
				return usageError{err}
			}
			return runServe(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8443", "address to listen on (host:port)")
	fl.StringVar(&f.data, "data", "./exechunt-data", "data directory (database, TLS pair, secrets)")
	fl.StringVar(&f.db, "db", "", "store: empty for the SQLite file in the data directory, or a postgres:// (postgresql://) URL")
	fl.StringVar(&f.cert, "tls-cert", "", "TLS certificate (PEM); default: self-signed in the data directory")
	fl.StringVar(&f.key, "tls-key", "", "TLS private key (PEM)")
	fl.StringSliceVar(&f.sans, "tls-san", nil, "a DNS name or IP address hosts reach this server by, for the self-signed certificate (repeat or comma-separate)")
	fl.StringVar(&f.packsDir, "packs-dir", "", "also load the packs (*.json, *.conf) of this directory; a pack named like a built-in one replaces it")
	fl.StringSliceVar(&f.sigma, "sigma", nil, "convert the Sigma rules of these files or folders into packs hunts can use (sigma-process-creation-windows, sigma-process-creation-linux, sigma-ps-script)")
	fl.StringVar(&f.logFormat, "log-format", "json", "log format on stderr: json (one object a line) or text (key=value)")
	fl.StringVar(&f.logLevel, "log-level", "info", "least severe level logged: debug, info, warn or error")
	fl.BoolVar(&f.metricsPublic, "metrics-public", false, "serve GET /metrics without an API token (for a scraper on a trusted network)")
	fl.IntVar(&f.accelerateMax, "accelerate-max-hosts", agentapi.DefaultAccelerateMaxHosts, "tell hosts handed a live query to check in every 5 s for a minute when the query targets at most this many hosts (0: never)")
	fl.StringVar(&f.replicaID, "replica-id", "", "name of this orchestrator in the hunt scheduler lease when several replicas share one --db (default: hostname-pid)")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", hunts.DefaultLeaseTTL, "lease duration of the hunt scheduler and the forwarder: the replica holding a lease fires the cron hunts or delivers the forwarded events and renews it every third of this; another replica takes over at most about this long after the holder dies")
	fl.StringVar(&f.pprof, "pprof", "", "also serve Go's profiler (net/http/pprof, plain HTTP, no authentication) on this address, e.g. 127.0.0.1:6060; for diagnosing load, keep it on loopback")
	fl.DurationVar(&f.retention, "retention", server.DefaultRetention, "delete scheduled result rows and status logs older than this, hourly (0: keep everything)")
	fl.DurationVar(&f.baseline, "baseline", 24*time.Hour, "learning window: stacks first seen within this long of the first hunt result are not new; rare ones are anomalies all the same, marked learning while it runs (0: no window, every stack is new until suppressed)")
	fl.StringArrayVar(&f.forward, "forward", nil, "forward anomaly events to the destination `URL`: https://… (signed webhook), syslog+tcp://host:port, syslog+tls://host:port or file:///path.jsonl, with options ?events=anomalies&min_rank=0.5&packs=a,b (repeatable; docs/forwarding.md)")
	fl.StringVar(&f.forwardSecret, "forward-secret-file", "", "`PATH` of the file holding the HMAC-SHA256 secret of --forward webhooks that have no secret_file option")
	return cmd
}

// serveGCPercent is serve's garbage-collection target unless GOGC is set. The
// orchestrator keeps a small live heap (tens of MiB at 5,000 hosts) and allocates
// for every request, so Go's default of 100 collects several times a second; at
// 400 it collects a quarter as often, for a larger but still modest heap.
const serveGCPercent = 400

// seed reads the secret named what from $env or file (and returns the file's path,
// "" for $env) and seeds the store with it: the first enroll secret, an admin
// token. A seed revoked or rotated out through the API since is not brought back:
// a warning says so (gone).
func seed(log *slog.Logger, what, env, file, gone string, seedWith func(string) error) (string, error) {
	v, path, err := server.SecretFromEnvOrFile(env, file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if err := seedWith(v); errors.Is(err, server.ErrSeedNotValid) {
		log.Warn("the seeded "+what+" is "+gone, "source", cmp.Or(path, env))
	} else if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return path, nil
}

func runServe(ctx context.Context, out, errOut io.Writer, f serveFlags) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	log, err := newLogger(errOut, f.logFormat, f.logLevel)
	if err != nil {
		return usageError{err}
	}
	dests, err := forward.ParseAll(f.forward, forward.Options{SecretFile: f.forwardSecret})
	if err != nil {
		return usageError{err}
	}
	for _, d := range dests {
		log.Info("forwarding", "destination", d.Name, "min_rank", d.MinRank, "packs", d.Packs)
	}
	host, port, err := net.SplitHostPort(f.listen)
	if err != nil {
		return usageError{fmt.Errorf("--listen %q: %w", f.listen, err)}
	}
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return err
	}
	data, err := filepath.Abs(f.data)
	if err != nil {
		return err
	}
	now := time.Now()

	certFile, keyFile := f.cert, f.key
	if certFile == "" {
		certFile, keyFile = filepath.Join(data, server.CertFile), filepath.Join(data, server.KeyFile)
	}
	hostname, _ := os.Hostname()
	cert, fp, created, err := server.LoadOrCreateCert(certFile, keyFile, append([]string{host, hostname}, f.sans...), now)
	if err != nil {
		return err
	}
	if err := certCoversSANs(cert.Leaf, f, certFile, keyFile); err != nil {
		return err
	}
	if left := cert.Leaf.NotAfter.Sub(now); left < server.ExpiresSoon {
		log.Warn("the TLS certificate expires soon; agents will refuse it after that",
			"file", certFile, "not_after", cert.Leaf.NotAfter.Format(time.DateOnly))
	}

	st, err := openStore(ctx, f.db, data)
	if err != nil {
		return err
	}
	defer st.Close()
	secretPath, err := seed(log, "enroll secret", "EXECHUNT_ENROLL_SECRET", filepath.Join(data, server.EnrollSecretFile),
		"no longer valid (rotated through the API); agents using it cannot enroll",
		func(v string) error { return server.SeedEnrollSecret(ctx, st, v, now) })
	if err != nil {
		return err
	}
	tokenPath, err := seed(log, "admin token", "EXECHUNT_ADMIN_TOKEN", filepath.Join(data, server.AdminTokenFile),
		"revoked or expired; use another admin token",
		func(v string) error { return server.SeedAdminToken(ctx, st, v, now) })
	if err != nil {
		return err
	}
	ps, err := loadServePacks(f.packsDir, f.sigma, log)
	if err != nil {
		return err
	}

	srv, err := server.New(server.Config{Store: st, Packs: ps, Log: log, Version: version,
		Anomalies: anomalies.Options{BaselineWindow: f.baseline}, MetricsPublic: f.metricsPublic,
		Hunts:     hunts.Config{Holder: f.replicaID, LeaseTTL: f.leaseTTL},
		Agent:     agentapi.Config{AccelerateMaxHosts: cmp.Or(f.accelerateMax, -1)},
		Retention: cmp.Or(f.retention, -1), Forward: dests})
	if err != nil {
		return err
	}
	seeded, err := srv.Hunts().Seed(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		TLSConfig:         server.TLSConfig(cert),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if f.pprof != "" {
		if _, err := servePprof(ctx, f.pprof, log); err != nil {
			return err
		}
	}
	addr := ln.Addr().(*net.TCPAddr)
	urlHost := host
	if urlHost == "" || net.ParseIP(urlHost) != nil && net.ParseIP(urlHost).IsUnspecified() {
		urlHost = hostname
	}
	serverURL := "https://" + net.JoinHostPort(urlHost, fmt.Sprint(addr.Port))
	if port == "0" {
		serverURL = "https://" + net.JoinHostPort(urlHost, fmt.Sprint(addr.Port))
	}
	enrollURL := serverURL // how hosts reach this server: the first --tls-san name
	if len(f.sans) > 0 {
		enrollURL = "https://" + net.JoinHostPort(f.sans[0], fmt.Sprint(addr.Port))
	}
	ccPath := filepath.Join(data, server.ClientConfigFile)
	cc := clientConfig{Server: serverURL, EnrollServer: enrollURL, CAFile: absPath(certFile), TokenFile: absPath(tokenPath), DataDir: data}
	if err := writeClientConfig(ccPath, cc); err != nil {
		log.Warn("writing the client config", "path", ccPath, "err", err)
	}
	userCC, userNote := publishClientConfig(cc, log)

	fmt.Fprintf(out, "exechunt %s listening on %s (TLS 1.2+)\n", version, serverURL)
	if created {
		fmt.Fprintf(out, "created a self-signed certificate: %s\n", certFile)
	}
	fmt.Fprintf(out, "certificate SHA-256 fingerprint: %s\n", fp)
	fmt.Fprintf(out, "certificate names (hosts connect by one of them): %s\n", strings.Join(server.CertNames(cert.Leaf), ", "))
	if secretPath != "" {
		fmt.Fprintf(out, "enroll secret: %s\n", secretPath)
	} else {
		fmt.Fprintln(out, "enroll secret: from EXECHUNT_ENROLL_SECRET")
	}
	if tokenPath != "" {
		fmt.Fprintf(out, "admin API token: %s\n", tokenPath)
	} else {
		fmt.Fprintln(out, "admin API token: from EXECHUNT_ADMIN_TOKEN")
	}
	fmt.Fprintf(out, "packs: %d", len(ps))
	if f.packsDir != "" {
		fmt.Fprintf(out, " (built-in and %s)", f.packsDir)
	}
	fmt.Fprintln(out)
	if seeded > 0 {
		fmt.Fprintf(out, "created the %d built-in hunts (docs/hunts.md); list them with: exechunt hunts\n", seeded)
	}
	dataArg := "" // enroll-flags finds ./exechunt-data, and the last serve's, itself
	if filepath.Clean(f.data) != defaultDataDir {
		dataArg = " --data " + data
	}
	fmt.Fprintf(out, "enroll a host: exechunt enroll-flags%s --server %s --out ./osquery-bundle,\n", dataArg, enrollURL)
	fmt.Fprintln(out, "  copy the bundle to the host, then osqueryd --flagfile exechunt.flags   (exechunt.ext listed in extensions.load)")
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		fmt.Fprintf(out, "  (serving on loopback only: only this machine can enroll; for other hosts: --listen 0.0.0.0:%d --tls-san NAME)\n", addr.Port)
	}
	fmt.Fprintf(out, "CLI: exechunt hosts / exechunt query --hosts all \"SELECT …\" (reads %s", ccPath)
	if userCC != "" {
		fmt.Fprintf(out, ", or from any folder %s", userCC)
	}
	fmt.Fprintf(out, ")%s\n", userNote)
	fmt.Fprintf(out, "web UI: %s/ui/ (log in with the admin API token)\n", serverURL)

	bg := make(chan error, 1)
	bgCtx, cancelBg := context.WithCancel(context.WithoutCancel(ctx))
	go func() { bg <- srv.Run(bgCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.ServeTLS(ln, "", "") }()
	log.Info("serving", "addr", addr.String(), "data", data)

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
		<-serveErr
	}
	cancelBg()
	if berr := <-bg; berr != nil {
		log.Warn("background work", "err", berr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped")
	return err
}

// certCoversSANs refuses a certificate that lacks a --tls-san name, saying what to
// do: serve never replaces a certificate hosts may have pinned on its own.
func certCoversSANs(leaf *x509.Certificate, f serveFlags, certFile, keyFile string) error {
	missing := server.CertMissing(leaf, f.sans)
	if len(missing) == 0 {
		return nil
	}
	has := strings.Join(server.CertNames(leaf), ", ")
	if f.cert != "" {
		return fmt.Errorf("--tls-cert %s does not cover %s (it covers %s): use a certificate issued for these names, or leave them out",
			certFile, strings.Join(missing, ", "), has)
	}
	return fmt.Errorf("the self-signed certificate %s does not cover %s (it covers %s; it was made by an earlier start). "+
		"Hosts pin this certificate, so serve does not replace it on its own: to have a new one made with these names, "+
		"delete %s and %s and start serve again with the same --tls-san, then give every enrolled host the new bundle "+
		"(exechunt enroll-flags --out)", certFile, strings.Join(missing, ", "), has, certFile, keyFile)
}

// newLogger returns the serve logger: JSON or text lines on w, from level up.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}
