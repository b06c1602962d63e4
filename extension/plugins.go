package extension

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/exechunt/exechunt/extension/config"
	"github.com/exechunt/exechunt/extension/pluginhost"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// PluginSpecs returns the plugins the configuration names: the plugins entries,
// then those listed in plugin_dir's checksum file; and the per-plugin call
// timeouts that are set.
func PluginSpecs(cfg config.Config) ([]pluginhost.Spec, map[string]time.Duration, error) {
	var specs []pluginhost.Spec
	timeouts := map[string]time.Duration{}
	for _, p := range cfg.Plugins {
		specs = append(specs, pluginhost.Spec{Path: p.Path, SHA256: p.SHA256})
		if p.Timeout > 0 {
			timeouts[p.Path] = p.Timeout
		}
	}
	if cfg.PluginDir != "" {
		sums := cfg.PluginChecksums
		if sums == "" {
			sums = filepath.Join(cfg.PluginDir, "SHA256SUMS")
		}
		more, err := pluginhost.ReadChecksums(cfg.PluginDir, sums)
		if err != nil {
			return nil, nil, err
		}
		specs = append(specs, more...)
	}
	return specs, timeouts, nil
}

// StartPlugins starts the configured plugins, with the names of the built-in
// tables reserved, and a call timeout of generate_timeout unless a plugin sets its
// own. The Host is never nil (close it); err reports the plugins and tables that
// were refused, which the Host has logged.
func StartPlugins(ctx context.Context, cfg config.Config, builtins []tablekit.Table, log *slog.Logger) (*pluginhost.Host, error) {
	specs, timeouts, err := PluginSpecs(cfg)
	if err != nil {
		h, _ := pluginhost.Start(ctx, nil, pluginhost.Options{Logger: log})
		return h, err
	}
	reserved := make([]string, len(builtins))
	for i, t := range builtins {
		reserved[i] = t.Name
	}
	return pluginhost.Start(ctx, specs, pluginhost.Options{
		CallTimeout: cfg.GenerateTimeout,
		Timeouts:    timeouts,
		Reserved:    reserved,
		Logger:      log,
	})
}
