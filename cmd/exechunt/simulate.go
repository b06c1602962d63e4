package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/tick"
)

// maxSimulatedHosts bounds --hosts: every host is a goroutine, an HTTPS client
// state and (with evidence of its own) an engine, on the machine of the server.
const maxSimulatedHosts = 1000

type simulateFlags struct {
	api                apiFlags
	data, secretFile   string
	hosts              int
	duration, interval time.Duration
	prefix             string
	progressEvery      time.Duration // how often a changed progress line is printed
}

func newSimulateCmd() *cobra.Command {
	f := simulateFlags{progressEvery: 5 * time.Second}
	cmd := &cobra.Command{
		Use:   "simulate --hosts N [flags] EVIDENCE...",
		Short: "Run simulated osquery agents that answer from evidence: the fleet loop without osqueryd",
		Long: `Runs N simulated osquery agents against the orchestrator over osquery's real TLS
remote API: each enrolls with the enroll secret, fetches its config, polls for live
queries and answers them, and runs the packs the config pushes into its schedule,
sending the results as osquery result logs, so hosts, live queries, hunts and
anomalies fill up as with a real fleet.

Answers come from the evidence (.evtx, .json, .jsonl, syslog files or folders, read
like exechunt sql) through the offline engine. Each evidence file belongs to one host
(with fewer hosts than files, each host gets a share); every host also has a benign
background of ordinary processes, and the hosts without evidence answer with it
alone, so rarity stacking has a fleet to compare against. Hosts are named sim-001…
(the same each run, so a second run re-enrolls them) with the platform of their
evidence (linux for Sysmon for Linux, else windows).

The server is --server, $EXECHUNT_SERVER or the data directory's client.json (written
by exechunt serve); its certificate is verified with --ca-file, $EXECHUNT_CA_FILE,
the client config's ca_file or the data directory's certificate. The enroll secret is
--enroll-secret-file, $EXECHUNT_ENROLL_SECRET or the data directory's enroll_secret.

Hunts bounded to a time window (the last hour) find the evidence although it is
dated in the past: each host replays it as happening when simulate started, so it
comes back in one run of each hunt.

Simulated hosts are enrolled like real ones: run them against a test server, not a
production fleet's. Progress goes to stderr. Runs until interrupted (Ctrl-C) or
--duration.`,
		Example: `  exechunt simulate --hosts 20 testdata/evidence
  exechunt simulate --hosts 60 --duration 10m ../shared/corpus
  exechunt simulate --hosts 5 --server https://hunt.example.com:8443 --ca-file ca.pem --enroll-secret-file secret ./logs`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("no evidence: name .evtx/.jsonl files or folders (e.g. testdata/evidence)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case f.hosts < 1 || f.hosts > maxSimulatedHosts:
				return usageError{fmt.Errorf("--hosts %d: want 1 to %d", f.hosts, maxSimulatedHosts)}
			case f.interval < 100*time.Millisecond:
				return usageError{fmt.Errorf("--interval %v: want at least 100ms", f.interval)}
			case f.duration < 0:
				return usageError{fmt.Errorf("--duration %v: want 0 (until interrupted) or more", f.duration)}
			}
			return runSimulate(cmd.Context(), cmd.ErrOrStderr(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.hosts, "hosts", 20, fmt.Sprintf("number of simulated hosts (1 to %d)", maxSimulatedHosts))
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (default: run until interrupted)")
	fl.DurationVar(&f.interval, "interval", 10*time.Second, "how often each host checks for live queries and sends its result logs (osqueryd's default is 10s)")
	fl.StringVar(&f.api.server, "server", "", "orchestrator URL (default $EXECHUNT_SERVER or the data directory's client.json)")
	fl.StringVar(&f.api.caFile, "ca-file", "", "certificate to verify the server with (default $EXECHUNT_CA_FILE, the client config's, or the data directory's)")
	addDataFlag(cmd, &f.data, "client.json, certificate, enroll secret")
	fl.StringVar(&f.secretFile, "enroll-secret-file", "", "file holding the enroll secret (default $EXECHUNT_ENROLL_SECRET or the data directory's enroll_secret)")
	fl.StringVar(&f.prefix, "prefix", "sim-", "hostname prefix of the simulated hosts")
	return cmd
}

// simTarget is the server the agents talk to: its URL, an HTTP client trusting its
// certificate, the enroll secret, and where the certificate and secret came from
// (for error messages).
type simTarget struct {
	url, caFile      string
	hc               *http.Client
	secret, secretAt string
}

// resolveSimTarget finds the server, its certificate and the enroll secret as the
// other commands do (apiFlags, enroll-flags), without an API token.
func resolveSimTarget(f simulateFlags) (simTarget, error) {
	f.data = dataDir(f.data)
	api := f.api
	api.serverOnly = true
	if cc := filepath.Join(f.data, server.ClientConfigFile); fileExists(cc) {
		api.config = cc
	}
	srv, _, caFile, err := api.resolve()
	if err != nil {
		return simTarget{}, err
	}
	if caFile == "" && fileExists(servedCert(f.data, "")) {
		caFile = servedCert(f.data, "")
	}
	var pem []byte
	if caFile != "" {
		if pem, err = os.ReadFile(caFile); err != nil {
			return simTarget{}, fmt.Errorf("server certificate (--ca-file): %w", err)
		}
	}
	tc, err := client.TLSConfig(pem)
	if err != nil {
		return simTarget{}, fmt.Errorf("server certificate %s: %w", caFile, err)
	}
	secret, at, err := enrollSecret(f.data, f.secretFile)
	if err != nil {
		return simTarget{}, err
	}
	if secret == "" {
		return simTarget{}, fmt.Errorf("the enroll secret in %s is empty", at)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	// Keep a connection per host for reuse (a TLS handshake per request would cost
	// the server more than the requests), up to a bound.
	tr.MaxIdleConns = min(f.hosts, 256)
	tr.MaxIdleConnsPerHost = tr.MaxIdleConns
	return simTarget{url: strings.TrimSuffix(srv, "/"), caFile: caFile, secret: secret, secretAt: at,
		hc: &http.Client{Transport: tr, Timeout: time.Minute}}, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func runSimulate(ctx context.Context, errOut io.Writer, f simulateFlags, evidence []string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM) // stop cleanly, as serve does
	defer stop()
	t, err := resolveSimTarget(f)
	if err != nil {
		return err
	}
	defer t.hc.CloseIdleConnections()
	log := cliLogger(errOut)
	fleet, err := simulate.Open(evidence, f.hosts, f.prefix, log)
	if err != nil {
		return err
	}
	defer fleet.Close()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	counters := &agentsim.Counters{}
	agents := fleet.Agents(agentsim.Config{Server: t.url, HTTP: t.hc, EnrollSecret: t.secret, Counters: counters,
		DistributedInterval: f.interval, LogInterval: f.interval, Gzip: true})

	// One host enrolls first, so that an unreachable server, an untrusted
	// certificate or a wrong secret is said once, clearly, and ends the run.
	if err := agents[0].Enroll(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return t.explain(err)
	}
	fmt.Fprintf(errOut, "simulate: %s against %s (Ctrl-C to stop)\n", describeFleet(fleet), t.url)

	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the start a little: hundreds of enrollments at once are a
			// burst the server need not take.
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(i) * 5 * time.Millisecond):
				a.Run(ctx)
			}
		}()
	}
	p := progress{c: counters, hosts: len(agents)}
	tick.Every(ctx, f.progressEvery, func(context.Context) { p.print(errOut, false) })
	wg.Wait()
	p.print(errOut, true)
	return nil
}

// explain turns the first enrollment's error into what went wrong and what to do.
func (t simTarget) explain(err error) error {
	var unknownCA x509.UnknownAuthorityError
	var badName x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, agentsim.ErrNodeInvalid):
		return fmt.Errorf("the server at %s refused the enroll secret from %s: use this server's enroll secret "+
			"(--data naming the server's data directory, EXECHUNT_ENROLL_SECRET or --enroll-secret-file)", t.url, t.secretAt)
	case errors.As(err, &unknownCA) || errors.As(err, &badName) || errors.As(err, &certErr):
		ca := t.caFile
		if ca == "" {
			ca = "the system's roots"
		}
		return fmt.Errorf("the server at %s did not present a certificate trusted with %s: %w "+
			"(pass the certificate it serves with --ca-file, or --data naming the server's data directory)", t.url, ca, err)
	case errors.As(err, &opErr) || errors.As(err, &netErr):
		return fmt.Errorf("cannot reach the server at %s: %w (is exechunt serve running? --server or EXECHUNT_SERVER name it)", t.url, err)
	}
	return fmt.Errorf("enrolling at %s: %w", t.url, err)
}

// describeFleet says how many hosts of which platform answer from what.
func describeFleet(fl *simulate.Fleet) string {
	platforms := map[string]int{}
	files, withEvidence := 0, 0
	for _, h := range fl.Hosts {
		platforms[h.Host.Platform]++
		files += len(h.Files)
		if len(h.Files) > 0 {
			withEvidence++
		}
	}
	var parts []string
	for _, p := range []string{"windows", "linux", "darwin"} {
		if platforms[p] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", platforms[p], p))
		}
	}
	return fmt.Sprintf("%d hosts (%s), %d answering from %d evidence files and %d from benign background only",
		len(fl.Hosts), strings.Join(parts, ", "), withEvidence, files, len(fl.Hosts)-withEvidence)
}

// progress prints a line when the counters changed since the last one, so a log of
// a long run holds a line per change, not per tick.
type progress struct {
	c     *agentsim.Counters
	hosts int
	last  string
}

func (p *progress) print(w io.Writer, final bool) {
	line := fmt.Sprintf("%d/%d hosts enrolled, %d live queries answered, %d scheduled queries run, %d result rows sent",
		p.c.Enrolled.Load(), p.hosts, p.c.Queries.Load(), p.c.ScheduledRuns.Load(), p.c.ResultRows.Load())
	if n := p.c.Errors.Load(); n > 0 {
		line += fmt.Sprintf(", %d errors (last: %.200v)", n, p.c.LastError())
	}
	if line == p.last && !final {
		return
	}
	p.last = line
	prefix := "simulate: "
	if final {
		prefix = "simulate: stopped: "
	}
	fmt.Fprintln(w, prefix+line)
}
