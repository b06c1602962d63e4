package pluginhost

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/osquery/osquery-go/plugin/table"
	"google.golang.org/grpc"

	"github.com/exechunt/exechunt/extension/pluginsdk"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// maxMessage is the largest gRPC message the host accepts from a plugin (the SDK
// sends rows in batches of about 1 MiB; one very large row may exceed that).
const maxMessage = 64 << 20

// gracePeriod is how long close waits for a plugin to exit by itself before it is
// killed.
const gracePeriod = 3 * time.Second

// proc is one plugin: its current process and the supervisor's view of it.
type proc struct {
	spec    Spec
	sum     []byte
	o       Options
	log     *slog.Logger
	timeout time.Duration

	kick chan struct{} // a call failed: check the plugin now

	mu       sync.Mutex
	client   *plugin.Client
	cmd      *exec.Cmd // the client's process, to kill it by its handle
	conn     pluginsdk.Client
	protocol int
	gen      uint64    // incremented at each start
	down     error     // why the plugin is not serving; nil while it is
	retryAt  time.Time // next restart attempt while down
	closed   bool
}

// newProc starts the plugin and describes it.
func newProc(ctx context.Context, s Spec, o Options) (*proc, pluginsdk.Description, error) {
	sum, err := s.sum()
	if err != nil {
		return nil, pluginsdk.Description{}, err
	}
	p := &proc{spec: s, sum: sum, o: o, log: o.Logger.With("plugin", s.name()), timeout: o.CallTimeout,
		kick: make(chan struct{}, 1)}
	if t, ok := o.Timeouts[s.Path]; ok && t > 0 {
		p.timeout = t
	}
	desc, err := p.start(ctx)
	if err != nil {
		return nil, pluginsdk.Description{}, err
	}
	return p, desc, nil
}

// start launches a new process of the plugin, after verifying its checksum, and
// describes it; on success it becomes the current process.
func (p *proc) start(ctx context.Context) (pluginsdk.Description, error) {
	if _, err := os.Stat(p.spec.Path); err != nil {
		return pluginsdk.Description{}, err
	}
	cmd := exec.Command(p.spec.Path) // an absolute, verified path: no shell, no PATH lookup
	cmd.Env = pluginEnv()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginsdk.Handshake,
		VersionedPlugins: pluginsdk.VersionedPlugins(nil),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: p.sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     p.o.StartTimeout,
		Logger:           newHCLogger(p.log),
		GRPCDialOptions:  []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage))},
	})
	inc := incarnation{client, cmd}
	conn, err := connect(client)
	if err != nil {
		inc.forceKill()
		return pluginsdk.Description{}, explain(err)
	}
	dctx, cancel := context.WithTimeout(ctx, p.o.StartTimeout)
	desc, err := conn.Describe(dctx)
	cancel()
	if err != nil {
		inc.forceKill()
		return pluginsdk.Description{}, fmt.Errorf("describe: %w", err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.client, p.conn, p.protocol, p.down = client, conn, client.NegotiatedVersion(), nil
	p.gen++
	p.mu.Unlock()
	return desc, nil
}

func connect(client *plugin.Client) (pluginsdk.Client, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(pluginsdk.PluginName)
	if err != nil {
		return nil, err
	}
	conn, ok := raw.(pluginsdk.Client)
	if !ok {
		return nil, fmt.Errorf("the plugin's %q is a %T, not a table plugin", pluginsdk.PluginName, raw)
	}
	return conn, nil
}

// explain rewords go-plugin's start errors that a user must act on.
func explain(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("its SHA-256 does not match the configured sha256: not started (%w)", err)
	case strings.Contains(msg, "incompatible API version"):
		return fmt.Errorf("it speaks another exechunt plugin protocol version than this host (%d): rebuild it with a pluginsdk that speaks protocol %d (%w)",
			pluginsdk.ProtocolVersion, pluginsdk.ProtocolVersion, err)
	case strings.Contains(msg, "Incompatible core API version"), strings.Contains(msg, "Unrecognized remote plugin message"):
		return fmt.Errorf("it is not an exechunt plugin, or was built with an incompatible go-plugin (%w)", err)
	}
	return err
}

// pid is the current process id, 0 when there is none.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		return 0
	}
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// table is the tablekit table of one of the plugin's tables.
func (p *proc) table(t pluginsdk.TableSpec) tablekit.Table {
	name := t.Name
	return tablekit.Table{
		Name:        name,
		Description: t.Description,
		Columns:     columns(t),
		Platforms:   t.Platforms,
		Generate: func(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
			return p.generate(ctx, name, qc)
		},
	}
}

// generate calls the plugin's table with a deadline. A failed connection marks the
// plugin down; a call that outlives its deadline makes the supervisor check at
// once whether the plugin hangs.
func (p *proc) generate(ctx context.Context, name string, qc table.QueryContext) ([]map[string]string, error) {
	p.mu.Lock()
	conn, gen, down, retryAt, closed := p.conn, p.gen, p.down, p.retryAt, p.closed
	p.mu.Unlock()
	switch {
	case closed:
		return nil, fmt.Errorf("plugin %s: %w: the plugin host is closed", p.spec.name(), pluginsdk.ErrUnavailable)
	case down != nil:
		wait := ""
		if d := time.Until(retryAt); d > 0 {
			wait = fmt.Sprintf("; next restart attempt in %s", d.Round(100*time.Millisecond))
		}
		return nil, fmt.Errorf("plugin %s: %w: not running (%v)%s", p.spec.name(), pluginsdk.ErrUnavailable, down, wait)
	}
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	rows, err := conn.Generate(cctx, name, qc)
	if err == nil {
		return rows, nil
	}
	switch {
	case errors.Is(err, pluginsdk.ErrTransport), errors.Is(err, pluginsdk.ErrProtocol):
		p.failed(gen, err)
	case errors.Is(err, pluginsdk.ErrDeadlineExceeded) && ctx.Err() == nil:
		p.check()
		err = fmt.Errorf("%w (plugin call timeout %s)", err, p.timeout)
	}
	return nil, fmt.Errorf("plugin %s: %w", p.spec.name(), err)
}

// failed marks incarnation gen of the plugin down, unless it already is.
func (p *proc) failed(gen uint64, err error) {
	p.mu.Lock()
	if gen == p.gen && p.down == nil {
		p.down = err
		p.retryAt = time.Now().Add(p.o.MinBackoff)
	}
	p.mu.Unlock()
	p.check()
}

// check asks the supervisor to check the plugin now.
func (p *proc) check() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// supervise checks the plugin's health until ctx ends, and restarts it with
// backoff when it has exited or does not answer.
func (p *proc) supervise(ctx context.Context) {
	tick := time.NewTicker(p.o.HealthInterval)
	defer tick.Stop()
	backoff := p.o.MinBackoff
	upSince := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-p.kick:
		}
		reason := p.health(ctx)
		if reason == nil {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if time.Since(upSince) >= p.o.MaxBackoff {
			backoff = p.o.MinBackoff
		}
		p.log.Warn("plugin down, restarting", "err", reason, "backoff", backoff.String())
		p.mu.Lock()
		old := incarnation{p.client, p.cmd}
		p.client, p.cmd, p.conn = nil, nil, nil
		if p.down == nil {
			p.down = reason
		}
		p.mu.Unlock()
		old.forceKill()
		for attempt := 1; ; attempt++ {
			p.mu.Lock()
			p.retryAt = time.Now().Add(backoff)
			p.mu.Unlock()
			wait := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				wait.Stop()
				return
			case <-wait.C:
			}
			backoff = min(2*backoff, p.o.MaxBackoff)
			sctx, cancel := context.WithTimeout(ctx, p.o.StartTimeout)
			desc, err := p.start(sctx)
			cancel()
			if err == nil {
				p.log.Info("plugin restarted", "attempt", attempt, "pid", p.pid(), "tables", len(desc.Tables))
				upSince = time.Now()
				break
			}
			p.log.Error("plugin restart failed", "attempt", attempt, "err", err, "next_backoff", backoff.String())
			p.mu.Lock()
			p.down = fmt.Errorf("restart failed: %w", err)
			p.mu.Unlock()
		}
		// Drain a kick left by calls of the old process.
		select {
		case <-p.kick:
		default:
		}
	}
}

// health returns why the plugin is not healthy, or nil: marked down, exited, or
// no answer to a Describe within HealthTimeout.
func (p *proc) health(ctx context.Context) error {
	p.mu.Lock()
	client, conn, down := p.client, p.conn, p.down
	p.mu.Unlock()
	switch {
	case down != nil:
		return down
	case client == nil || client.Exited():
		return errors.New("the plugin process exited")
	}
	hctx, cancel := context.WithTimeout(ctx, p.o.HealthTimeout)
	defer cancel()
	if _, err := conn.Describe(hctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("no answer to a health check within %s: %w", p.o.HealthTimeout, err)
	}
	return nil
}

// take removes the current process from p and returns it.
func (p *proc) take() incarnation {
	p.mu.Lock()
	defer p.mu.Unlock()
	inc := incarnation{p.client, p.cmd}
	p.client, p.cmd, p.conn = nil, nil, nil
	return inc
}

// close stops the plugin for good: no restart, calls fail.
func (p *proc) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.take().stop()
}

// incarnation is one process of a plugin.
type incarnation struct {
	client *plugin.Client
	cmd    *exec.Cmd
}

// stop kills the process gracefully (the host closes the connection and the
// plugin exits), by force after gracePeriod.
func (inc incarnation) stop() {
	if inc.client == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		inc.client.Kill()
	}()
	select {
	case <-done:
	case <-time.After(gracePeriod):
		inc.forceKill()
		<-done
	}
}

// forceKill kills the process at once and lets go-plugin clean up: go-plugin's
// own Kill first asks the plugin to shut down over the connection, and would wait
// forever for a plugin that hangs. The process is killed through its handle
// (os.Process), never by a pid that may have been reused.
func (inc incarnation) forceKill() {
	if inc.client == nil {
		return
	}
	if inc.cmd != nil && inc.cmd.Process != nil {
		_ = inc.cmd.Process.Kill()
	}
	inc.client.Kill()
}
