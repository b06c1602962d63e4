// Command exechunt.ext is the exechunt osquery extension: it serves exechunt's hunt
// tables to osqueryd.
//
// osqueryd starts an autoloaded extension with --socket, --timeout, --interval and,
// when it is verbose itself, --verbose. Every other setting comes from the file
// named by $EXECHUNT_CONFIG or the platform default (docs/extension-config.md); with
// no file the defaults apply.
//
//	exechunt.ext --socket /var/osquery/osquery.em --timeout 3 --interval 3
//	exechunt.ext --spec       # every table's schema as JSON, then exit
//	exechunt.ext --version
//
// The plugins named in the configuration (docs/plugins.md) are started once their
// SHA-256 checks out, their tables are served with the built-in ones, and they are
// killed when the extension exits.
//
// With sigma_rules set, it also serves sigma_matches, and SIGHUP (not on Windows)
// reads the rules again: the new set replaces the old one whole, and a set that
// cannot be read or of which no rule compiles leaves the old one in use.
//
// It logs JSON to stderr. It exits 0 when stopped by SIGINT/SIGTERM or by osquery's
// shutdown call, 1 when osqueryd goes away (so that osquery's autoload starts it
// again with the next osqueryd) or on an error, and 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/exechunt/exechunt/extension"
	"github.com/exechunt/exechunt/extension/config"
	"github.com/exechunt/exechunt/extension/host"
	"github.com/exechunt/exechunt/tables/tablekit"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("exechunt.ext", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "path of osqueryd's extension manager socket (--extensions_socket)")
	timeout := fs.Int("timeout", 3, "seconds to wait for the socket")
	interval := fs.Int("interval", 3, "seconds between pings of osqueryd")
	verbose := fs.Bool("verbose", false, "log at debug level")
	spec := fs.Bool("spec", false, "print every table's spec as a JSON array and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `exechunt.ext is exechunt's osquery extension: it serves the execution-hunt tables
(process_lineage, process_creation_events, powershell_script_blocks, command_line_analysis,
sigma_matches with sigma_rules set, and plugin tables) to osqueryd, which starts it from
--extensions_autoload. SIGHUP reloads the Sigma rules (not on Windows).

Usage:
  exechunt.ext --socket PATH [--timeout S] [--interval S] [--verbose]
  exechunt.ext --spec | --version

Settings other than osqueryd's flags come from the YAML file named by $EXECHUNT_CONFIG,
else %s; with no file the defaults apply (docs/extension-config.md).

Flags:
`, config.DefaultPath())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "exechunt.ext: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "exechunt.ext", version)
		return 0
	}

	var level slog.LevelVar
	if *verbose {
		level.Set(slog.LevelDebug)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: &level}))

	cfg, err := config.Load()
	if err != nil {
		log.Error("cannot read the configuration", "err", err)
		return 1
	}
	if !*verbose {
		level.Set(cfg.Level())
	}
	tables, sigma, err := extension.Tables(cfg, log)
	if err != nil {
		log.Error("cannot build the tables", "err", err)
		return 1
	}
	// Before --spec too, so that it checks the rules of a configuration.
	if err := extension.LoadSigma(cfg, sigma, log); err != nil {
		log.Error("cannot load the Sigma rules", "sigma_rules", cfg.SigmaRules, "err", err)
		return 1
	}
	if *spec {
		if err := extension.WriteSpec(stdout, tables); err != nil {
			log.Error("cannot write the spec", "err", err)
			return 1
		}
		return 0
	}
	if *socket == "" {
		fmt.Fprintln(stderr, "exechunt.ext: --socket is required (osqueryd passes it to autoloaded extensions)")
		return 2
	}
	if cfg.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMB) << 20)
	}
	tables = extension.Served(cfg, tables)
	// SIGHUP (unix) reads the Sigma rules again; a failed reload keeps those in use.
	stopHangup := onHangup(func() {
		if cfg.SigmaRules == "" {
			log.Info("SIGHUP: sigma_rules is not set, nothing to reload")
			return
		}
		if err := extension.LoadSigma(cfg, sigma, log); err != nil {
			log.Error("sigma rules not reloaded: the rules in use are kept", "sigma_rules", cfg.SigmaRules, "err", err)
		}
	})
	defer stopHangup()
	// Plugins that do not start, and plugin tables named like others, are logged
	// and left out; the other tables are served.
	plugins, _ := extension.StartPlugins(ctx, cfg, tables, log)
	defer plugins.Close()
	tables = append(tables, plugins.Tables()...)
	log.Info("exechunt.ext starting", "version", version, "config", cfg.File, "socket", *socket,
		"memory_limit_mb", cfg.MemoryLimitMB, "generate_timeout", cfg.GenerateTimeout.String(), "tables", len(tables),
		"plugin_tables", plugins.Names())

	err = host.Run(ctx, *socket, tables, host.Options{
		Version:      version,
		SocketWait:   time.Duration(*timeout) * time.Second,
		PingInterval: time.Duration(*interval) * time.Second,
		Table:        tablekit.Options{Timeout: cfg.GenerateTimeout, Logger: log},
		Logger:       log,
	})
	if err != nil {
		log.Error("exechunt.ext stopped", "err", err)
		return 1
	}
	log.Info("exechunt.ext stopped")
	return 0
}
