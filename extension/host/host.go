// Package host serves exechunt's tables to osqueryd over osquery-go's Thrift
// extension protocol.
//
// Run registers the tables with the extension manager at osqueryd's socket,
// serves them on "<socket>.<uuid>" and returns when ctx ends (after deregistering)
// or when osqueryd goes away (its ping fails), so that the process exits with a
// non-zero status and osquery's autoload restarts it with the next osqueryd.
//
// Run builds osquery-go's ExtensionManagerServer but does not use its Run method:
// that method takes no context, pings with time.Sleep, and leaves goroutines blocked
// on an unbuffered channel when the ping fails first (osquery-go server.go). Run
// here starts the server with Start and pings the manager itself on a ticker, with
// the same outcome: a failed ping or a non-zero ping status ends Run with an error
// wrapping ErrOsqueryGone.
//
// Every table goes through tablekit.Plugin (a generate deadline and panic recovery:
// a panicking table answers status 1 and the extension keeps serving), and the
// server wraps its connections in a buffered transport so that large result sets are
// written in a few syscalls instead of one per Thrift primitive (osquery-go
// WithTransportFactory).
package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	osquery "github.com/osquery/osquery-go"

	"github.com/exechunt/exechunt/tables/tablekit"
)

// Defaults of Options.
const (
	DefaultName         = "exechunt"
	DefaultSocketWait   = 3 * time.Second // osqueryd's --extensions_timeout
	DefaultPingInterval = 3 * time.Second // osqueryd's --extensions_interval
	DefaultIOTimeout    = time.Minute     // as kolide/launcher
	DefaultStopTimeout  = 3 * time.Second
	DefaultBufferSize   = 16 * 1024
)

// ErrOsqueryGone is wrapped by the error Run returns when the extension manager
// stops answering pings.
var ErrOsqueryGone = errors.New("osquery extension manager went away")

// ErrInvalidTables is wrapped by the error Run and Plugins return for a table list
// that cannot be served (duplicate or empty names, no columns, no generate).
var ErrInvalidTables = errors.New("invalid tables")

// Options tune Run. Zero fields take the defaults above.
type Options struct {
	Name    string // extension name registered with osquery
	Version string // extension version registered with osquery

	// SocketWait is how long to wait for osqueryd's socket to appear (the
	// extension's --timeout); it is also the socket timeout of the calls to the
	// manager (register, ping, deregister).
	SocketWait time.Duration
	// PingInterval is how often the manager is pinged (the extension's --interval).
	PingInterval time.Duration
	// IOTimeout is osquery-go's ServerTimeout: the socket timeout of osquery's
	// connections to the extension on Windows named pipes (unix sockets have none).
	IOTimeout time.Duration
	// BufferSize is the size of the buffered transport around each connection.
	BufferSize int
	// StopTimeout bounds how long stopping waits for osqueryd to take the
	// deregistration (default DefaultStopTimeout): an osqueryd that hangs with its
	// sockets open must not keep the extension from exiting.
	StopTimeout time.Duration

	Table  tablekit.Options // deadline and logger of every table's generate
	Logger *slog.Logger     // nil means slog.Default()
}

func (o Options) withDefaults() Options {
	o.Name = cmp.Or(o.Name, DefaultName)
	o.SocketWait = cmp.Or(max(o.SocketWait, 0), DefaultSocketWait)
	o.PingInterval = cmp.Or(max(o.PingInterval, 0), DefaultPingInterval)
	o.IOTimeout = cmp.Or(max(o.IOTimeout, 0), DefaultIOTimeout)
	o.BufferSize = cmp.Or(max(o.BufferSize, 0), DefaultBufferSize)
	o.StopTimeout = cmp.Or(max(o.StopTimeout, 0), DefaultStopTimeout)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Table.Logger == nil {
		o.Table.Logger = o.Logger
	}
	return o
}

// Plugins wraps the tables that run on this platform (Platforms empty or holding
// runtime.GOOS) with tablekit.Plugin. It refuses a table without a name, columns or
// generate function, a duplicate table name and a duplicate column name.
func Plugins(tables []tablekit.Table, o tablekit.Options) ([]osquery.OsqueryPlugin, error) {
	seen := map[string]bool{}
	var plugins []osquery.OsqueryPlugin
	for i, t := range tables {
		if err := check(t); err != nil {
			return nil, fmt.Errorf("%w: table %d (%q): %v", ErrInvalidTables, i, t.Name, err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("%w: table %s is given twice", ErrInvalidTables, t.Name)
		}
		seen[t.Name] = true
		if len(t.Platforms) > 0 && !slices.Contains(t.Platforms, runtime.GOOS) {
			continue
		}
		plugins = append(plugins, tablekit.Plugin(t, o))
	}
	return plugins, nil
}

func check(t tablekit.Table) error {
	switch {
	case t.Name == "":
		return errors.New("no name")
	case t.Generate == nil:
		return errors.New("no generate function")
	case len(t.Columns) == 0:
		return errors.New("no columns")
	}
	cols := map[string]bool{}
	for _, c := range t.Columns {
		if c.Name == "" || cols[c.Name] {
			return fmt.Errorf("empty or duplicate column name %q", c.Name)
		}
		cols[c.Name] = true
	}
	return nil
}

// Run serves tables to the osqueryd extension manager at socket until ctx ends
// (it then deregisters and returns nil), osquery calls the extension's shutdown
// method (nil), or the manager goes away (an error wrapping ErrOsqueryGone).
// Registration failures and invalid tables are returned as errors too.
func Run(ctx context.Context, socket string, tables []tablekit.Table, o Options) error {
	o = o.withDefaults()
	plugins, err := Plugins(tables, o.Table)
	if err != nil {
		return err
	}
	if len(plugins) == 0 {
		return fmt.Errorf("%w: no table runs on %s", ErrInvalidTables, runtime.GOOS)
	}
	if ctx.Err() != nil {
		return nil
	}
	client, err := osquery.NewClient(socket, o.SocketWait)
	if err != nil {
		return fmt.Errorf("connect to osquery at %s: %w", socket, err)
	}
	defer closeSoon(client)
	srv, err := osquery.NewExtensionManagerServer(o.Name, socket,
		osquery.ExtensionVersion(o.Version),
		osquery.ServerTimeout(o.IOTimeout),
		osquery.WithClient(client),
		osquery.WithTransportFactory(strictFactory{thrift.NewTBufferedTransportFactory(o.BufferSize)}),
	)
	if err != nil {
		return fmt.Errorf("extension server: %w", err)
	}
	srv.RegisterPlugin(plugins...) // every plugin is a "table": RegisterPlugin cannot panic

	served := make(chan error, 1)
	go func() { served <- srv.Start() }()
	o.Logger.Info("registering with osquery", "socket", socket, "tables", len(plugins))

	stopped, err := watch(ctx, client, o.PingInterval, served)
	if !stopped {
		if errors.Is(err, ErrOsqueryGone) {
			// A manager that failed a ping would make the deregistration wait out
			// the socket timeout: fail it at once instead.
			closeSoon(client)
		}
		stop(srv, served, o.StopTimeout, o.Logger)
	}
	return err
}

// watch pings the manager every interval until ctx ends (nil), a ping fails
// (ErrOsqueryGone) or the server stops on its own (stopped is then true): after a
// shutdown call (nil) or a failed registration or listen (an error).
func watch(ctx context.Context, client *osquery.ExtensionManagerClient, interval time.Duration, served <-chan error) (stopped bool, err error) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case err := <-served:
			if err == nil {
				// The server stopped without us: osquery called the extension's
				// shutdown method.
				return true, nil
			}
			return true, fmt.Errorf("register and serve: %w", err)
		case <-tick.C:
			// The ping runs aside: thrift's socket does not heed ctx, and a hung
			// osqueryd (sockets open, no answers) would hold a signal up until the
			// socket timeout. Run's client.Close ends a ping left behind.
			pinged := make(chan error, 1)
			go func() {
				st, err := client.PingContext(ctx)
				if err == nil && st.Code != 0 {
					err = fmt.Errorf("ping status %d: %s", st.Code, st.Message)
				}
				pinged <- err
			}()
			select {
			case <-ctx.Done():
				return false, nil
			case err := <-pinged:
				if ctx.Err() != nil {
					return false, nil
				}
				if err != nil {
					return false, fmt.Errorf("%w: ping: %v", ErrOsqueryGone, err)
				}
			}
		}
	}
}

// stop deregisters and stops the server, and waits until Start has returned or
// timeout has passed. Shutdown runs on its own goroutine, repeated because a
// Start that had not yet registered when the first Shutdown ran would otherwise go
// on serving; each call may wait out the manager's socket timeout when osqueryd
// hangs, so the wait here is bounded by timeout and a signal cannot be held up.
func stop(srv *osquery.ExtensionManagerServer, served <-chan error, timeout time.Duration, log *slog.Logger) {
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			if err := srv.Shutdown(context.Background()); err != nil {
				log.Debug("extension shutdown", "err", err)
			}
			select {
			case <-quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case <-served:
	case <-deadline.C:
		log.Warn("osquery did not take the deregistration in time; stopping without it", "waited", timeout)
	}
}

// closeSoon closes the manager client without waiting long on a call left stuck
// on a hung osqueryd: thrift's Close first checks the socket, which waits for that
// call's read. The close then finishes in the background when the read ends.
func closeSoon(c *osquery.ExtensionManagerClient) {
	done := make(chan struct{})
	go func() {
		c.Close()
		close(done)
	}()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// errNotStrict ends a connection whose first byte is not a strict binary-protocol
// message header (osqueryd and osquery-go always write those).
var errNotStrict = errors.New("not a strict thrift binary protocol message (a framed or other transport?)")

// strictFactory gives every connection a transport that ends it at once when its
// first byte cannot start a strict binary-protocol message (0x80, the version's
// high byte): a client speaking the framed transport, or anything else, then gets
// an error instead of waiting out its own timeout while the server waits for bytes
// its misread header promised.
type strictFactory struct{ inner thrift.TTransportFactory }

func (f strictFactory) GetTransport(t thrift.TTransport) (thrift.TTransport, error) {
	tt, err := f.inner.GetTransport(t)
	if err != nil {
		return nil, err
	}
	return &strictFirstByte{TTransport: tt}, nil
}

type strictFirstByte struct {
	thrift.TTransport
	checked bool
}

func (t *strictFirstByte) Read(p []byte) (int, error) {
	n, err := t.TTransport.Read(p)
	if !t.checked && n > 0 {
		t.checked = true
		if p[0] != 0x80 {
			t.TTransport.Close()
			return 0, errNotStrict
		}
	}
	return n, err
}
