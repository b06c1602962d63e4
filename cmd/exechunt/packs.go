package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/report"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/packs/packlint"
	"github.com/exechunt/exechunt/tables/analysis"
)

// loadServePacks returns the built-in packs, those of dir ("" for none) and the
// packs converted from the Sigma rules of sigmaPaths, so that hunts can reference
// them by name (sigma-process-creation-windows, …). A later pack replaces an earlier
// one of the same name, with a warning.
func loadServePacks(dir string, sigmaPaths []string, log *slog.Logger) ([]packs.Pack, error) {
	ps, err := packs.Load(packs.FS)
	if err != nil {
		return nil, fmt.Errorf("built-in packs: %w", err)
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, usageError{fmt.Errorf("--packs-dir %s: not a directory", dir)}
		}
		extra, err := packs.Load(os.DirFS(dir))
		if err != nil {
			return nil, fmt.Errorf("packs in %s: %w (exechunt packs lint %s says more)", dir, err, dir)
		}
		ps = mergePacks(ps, extra, log, "--packs-dir "+dir)
	}
	if len(sigmaPaths) > 0 {
		extra, res, err := sigmaPacks(sigmaPaths)
		if err != nil {
			return nil, usageError{err}
		}
		for _, k := range res.Skipped {
			log.Warn("sigma rule not converted", "file", k.File, "reason", report.OneLine(k.Reason, 300))
		}
		log.Info("sigma rules converted", "summary", strings.TrimSpace(res.Summary().String()))
		for _, p := range extra {
			log.Info("sigma pack loaded", "pack", p.Name, "queries", len(p.Queries))
		}
		ps = mergePacks(ps, extra, log, "--sigma")
	}
	return ps, nil
}

// mergePacks adds extra to ps; a pack of extra replaces the one of ps with its name.
func mergePacks(ps, extra []packs.Pack, log *slog.Logger, from string) []packs.Pack {
	byName := map[string]int{}
	for i, p := range ps {
		byName[p.Name] = i
	}
	for _, p := range extra {
		if i, ok := byName[p.Name]; ok {
			log.Warn("a pack replaces the earlier pack of the same name", "pack", p.Name, "from", from)
			ps[i] = p
			continue
		}
		byName[p.Name] = len(ps)
		ps = append(ps, p)
	}
	return ps
}

func newPacksCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "packs",
		Short: "Hunt packs: lint them",
	}
	var spec, schema, format string
	var strict bool
	lint := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Check packs: JSON and schema errors, unknown tables and columns, SQL that does not compile",
		Long: `Checks pack files (osquery's pack format plus exechunt's fields) before they reach a
fleet: JSON and pack schema errors with file:line, keys osquery would ignore,
tables and columns unknown to the extension and to osquery, SQL that does not
compile on the offline engine, cron schedules that do not parse, tables missing
on a query's platform, stack keys the query does not return, and event-table
queries without a time column (dispatch cannot window them). A table osquery has
removed is a warning naming the osquery version that removed it (where osquery's
changelog says): the pack loads, current osquery fails that query.

PATH is a pack file or a directory of *.json and *.conf files; without PATH the
built-in packs are checked. The extension's tables come from this build (or
--spec, the extension's --spec JSON); osquery's from a copy of its schema
embedded here (or --schema). Exit status: 0 clean or warnings only, 1 errors
found (or warnings with --strict), 2 bad usage.`,
		Example: `  exechunt packs lint
  exechunt packs lint ./my-packs/ ../shared/reference/osquery-packs/incident-response.conf
  exechunt packs lint --format json ./my-packs/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			osq := packlint.OsquerySchema()
			if schema != "" {
				b, err := os.ReadFile(schema)
				if err != nil {
					return usageError{err}
				}
				if osq, err = packlint.ParseSchema(b); err != nil {
					return usageError{err}
				}
			}
			ext, err := extensionSchema(spec)
			if err != nil {
				return err
			}
			l, err := packlint.New(osq, ext)
			if err != nil {
				return err
			}
			defer l.Close()
			var fs []packlint.Finding
			if len(args) == 0 {
				fs, err = l.FS(packs.FS)
			} else {
				fs, err = l.Paths(args)
			}
			if err != nil {
				return usageError{err}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if fs == nil {
					fs = []packlint.Finding{}
				}
				if err := enc.Encode(fs); err != nil {
					return err
				}
			} else {
				for _, f := range fs {
					fmt.Fprintln(out, f)
				}
			}
			errs := packlint.Errors(fs)
			fmt.Fprintf(cmd.ErrOrStderr(), "exechunt: packs lint: %d errors, %d warnings\n", errs, len(fs)-errs)
			if errs > 0 || (strict && len(fs) > 0) {
				return errLintFailed
			}
			return nil
		},
	}
	lint.Flags().StringVar(&spec, "spec", "", "the extension's table schemas (JSON from exechunt.ext --spec); default: this build's tables")
	lint.Flags().StringVar(&schema, "schema", "", "osquery's table schemas (osquery-schema.json); default: the embedded copy")
	lint.Flags().StringVar(&format, "format", "text", "output: text or json")
	lint.Flags().BoolVar(&strict, "strict", false, "fail on warnings too")
	cmd.AddCommand(lint)
	return cmd
}

// errLintFailed exits 1 without printing more (the findings were printed).
var errLintFailed = errors.New("packs lint found problems")

// extensionSchema returns the extension's tables: from a --spec file, or from
// this build's table set (the same tables the extension serves).
func extensionSchema(spec string) ([]packlint.Table, error) {
	if spec != "" {
		b, err := os.ReadFile(spec)
		if err != nil {
			return nil, usageError{err}
		}
		ts, err := packlint.ParseSchema(b)
		if err != nil {
			return nil, usageError{err}
		}
		return ts, nil
	}
	var out []packlint.Table
	for _, t := range offline.Tables(nil, analysis.New(), slog.New(slog.DiscardHandler)) {
		pt := packlint.Table{Name: t.Name, Platforms: t.Platforms}
		for _, c := range t.Columns {
			pt.Columns = append(pt.Columns, packlint.Column{Name: c.Name, Type: string(c.Type), Hidden: c.Hidden})
		}
		out = append(out, pt)
	}
	return out, nil
}
