// Package pluginhost runs hunt-table plugins (executables built with
// extension/pluginsdk) and serves their tables as tablekit.Table values, for the
// osquery extension and for the offline engine alike.
//
// For each plugin Start verifies the executable's SHA-256 (go-plugin's
// SecureConfig, checked again before every restart), runs it by its absolute path
// with no shell, with an empty environment (go-plugin's SkipHostEnv) and mutual
// TLS on the connection (AutoMTLS), negotiates the protocol version, and asks the
// plugin for its tables. A table whose name is reserved (a built-in table) or
// already served by an earlier plugin is refused with a message, as are plugins
// that do not start; the other plugins and tables are served.
//
// Each call of a plugin table's Generate has a deadline (Options.CallTimeout). A
// supervisor per plugin checks its health every HealthInterval and right after a
// failed call; a plugin that exited or stopped answering is killed and restarted
// with exponential backoff, and meanwhile its tables fail at once with an error
// wrapping pluginsdk.ErrUnavailable. Close kills every plugin.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/extension/pluginsdk"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Defaults of Options.
const (
	DefaultCallTimeout    = time.Minute
	DefaultStartTimeout   = 10 * time.Second
	DefaultHealthInterval = 5 * time.Second
	DefaultHealthTimeout  = 3 * time.Second
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = time.Minute
)

// ErrNameClash is wrapped by the error reported for a table refused because its
// name is reserved or already served.
var ErrNameClash = errors.New("table name already taken")

// Options tune Start. Zero fields take the defaults above.
type Options struct {
	// CallTimeout bounds one Generate call of a plugin table.
	CallTimeout time.Duration
	// Timeouts gives some plugins (by Spec.Path) their own CallTimeout.
	Timeouts map[string]time.Duration
	// StartTimeout bounds starting a plugin: the handshake and Describe.
	StartTimeout time.Duration
	// HealthInterval is how often a running plugin is pinged; HealthTimeout is how
	// long a ping may take before the plugin counts as hung.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// MinBackoff and MaxBackoff bound the wait before a restart; it doubles after
	// each failed attempt and is reset once the plugin has run for MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Reserved are table names the plugins may not use (the built-in tables).
	Reserved []string
	Logger   *slog.Logger // nil means slog.Default()
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.CallTimeout, DefaultCallTimeout)
	def(&o.StartTimeout, DefaultStartTimeout)
	def(&o.HealthInterval, DefaultHealthInterval)
	def(&o.HealthTimeout, DefaultHealthTimeout)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Host runs plugins and serves their tables.
type Host struct {
	procs  []*proc
	tables []tablekit.Table
	stop   context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// LoadError is a plugin that was not started, or a table of it that was refused.
type LoadError struct {
	Path  string
	Table string // set when one table was refused
	Err   error
}

func (e *LoadError) Error() string {
	if e.Table != "" {
		return fmt.Sprintf("plugin %s: table %s refused: %v", e.Path, e.Table, e.Err)
	}
	return fmt.Sprintf("plugin %s not started: %v", e.Path, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Start starts the plugins in order and returns a Host serving their tables.
// ctx bounds the start only. The Host is never nil: when some plugins fail to start
// or some tables are refused, err joins a *LoadError for each (they are logged too)
// and the Host serves the rest, so that one bad plugin does not take down the
// others or the built-in tables. Close the Host when done, even on error.
func Start(ctx context.Context, specs []Spec, o Options) (*Host, error) {
	o = o.withDefaults()
	life, stop := context.WithCancel(context.Background())
	h := &Host{stop: stop}
	taken := map[string]string{}
	for _, name := range o.Reserved {
		taken[name] = "a built-in table"
	}
	var errs []error
	fail := func(e *LoadError) {
		o.Logger.Error("plugin refused", "plugin", e.Path, "table", e.Table, "err", e.Err)
		errs = append(errs, e)
	}
	for _, s := range specs {
		p, desc, err := newProc(ctx, s, o)
		if err != nil {
			fail(&LoadError{Path: s.Path, Err: err})
			continue
		}
		var accepted []tablekit.Table
		for _, t := range desc.Tables {
			if err := pluginsdk.CheckSpec(t); err != nil {
				fail(&LoadError{Path: s.Path, Table: t.Name, Err: err})
				continue
			}
			if by, ok := taken[t.Name]; ok {
				fail(&LoadError{Path: s.Path, Table: t.Name, Err: fmt.Errorf("%w: %s is %s", ErrNameClash, t.Name, by)})
				continue
			}
			taken[t.Name] = "served by plugin " + s.Path
			accepted = append(accepted, p.table(t))
		}
		if len(accepted) == 0 {
			fail(&LoadError{Path: s.Path, Err: errors.New("none of its tables can be served")})
			p.take().forceKill()
			continue
		}
		o.Logger.Info("plugin started", "plugin", s.Path, "sdk_version", desc.SDKVersion,
			"protocol_version", p.protocol, "pid", p.pid(), "tables", len(accepted))
		h.procs = append(h.procs, p)
		h.tables = append(h.tables, accepted...)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			p.supervise(life)
		}()
	}
	return h, errors.Join(errs...)
}

// Tables returns the plugin tables, in the order of the plugins and of their
// tables.
func (h *Host) Tables() []tablekit.Table { return slices.Clone(h.tables) }

// Names returns the names of the plugin tables.
func (h *Host) Names() []string {
	names := make([]string, len(h.tables))
	for i, t := range h.tables {
		names[i] = t.Name
	}
	return names
}

// Close stops the supervisors and kills every plugin (gracefully, then by force
// after a few seconds); calls of the plugin tables fail afterwards. It is safe to
// call more than once.
func (h *Host) Close() error {
	h.once.Do(func() {
		h.stop()
		h.wg.Wait()
		var wg sync.WaitGroup
		for _, p := range h.procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.close()
			}()
		}
		wg.Wait()
	})
	return nil
}

// columns are the table's columns as tablekit wants them.
func columns(t pluginsdk.TableSpec) []table.ColumnDefinition { return slices.Clone(t.Columns) }
