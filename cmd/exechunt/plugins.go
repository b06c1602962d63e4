package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/extension/pluginhost"
	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// addPluginFlag adds --plugin PATH[:SHA256] (repeatable) to an offline command.
func addPluginFlag(cmd *cobra.Command, plugins *[]string) {
	cmd.Flags().StringArrayVar(plugins, "plugin", nil,
		"also mount the tables of this hunt-table plugin, PATH or PATH:SHA256 (repeat for more; see docs/plugins.md)")
}

// openEngine opens the offline engine of `exechunt sql` and `exechunt scan`: the
// offline tables over the evidence paths and the tables of the plugins named by
// --plugin, warnings logged to stderr and each problem of the input handed to
// problem. It returns the evidence too, to read it and report on it
// (readEvidence), and a function that closes the engine and stops the plugins.
func openEngine(ctx context.Context, paths, plugins []string, stderr io.Writer, problem func(*source.Problem)) (*sqlengine.Engine, *offline.Evidence, func(), error) {
	log := cliLogger(stderr)
	ev := offline.Open(paths, offline.Options{Analyzer: analysis.New(), Logger: log, Problem: problem})
	tables, stopPlugins, err := pluginTables(ctx, ev.Tables, plugins, log)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := sqlengine.Open(tables, sqlengine.Options{Logger: log})
	if err != nil {
		stopPlugins()
		return nil, nil, nil, err
	}
	return e, ev, func() { e.Close(); stopPlugins() }, nil
}

// pluginTables returns the offline tables with the tables of the plugins named by
// --plugin, and a function that stops the plugins. Unlike the extension, the
// command fails when a plugin does not start or one of its tables is refused: the
// user named it on the command line.
func pluginTables(ctx context.Context, tables []tablekit.Table, plugins []string, log *slog.Logger) ([]tablekit.Table, func(), error) {
	if len(plugins) == 0 {
		return tables, func() {}, nil
	}
	specs := make([]pluginhost.Spec, 0, len(plugins))
	for _, arg := range plugins {
		s, err := pluginhost.ParseFlag(arg)
		if err != nil {
			return nil, nil, usageError{err}
		}
		specs = append(specs, s)
	}
	reserved := make([]string, len(tables))
	for i, t := range tables {
		reserved[i] = t.Name
	}
	h, err := pluginhost.Start(ctx, specs, pluginhost.Options{Reserved: reserved, Logger: log})
	if err != nil {
		h.Close()
		return nil, nil, usageError{err}
	}
	return append(tables, h.Tables()...), func() { h.Close() }, nil
}
