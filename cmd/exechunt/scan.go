package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/osquery/osquery-go/plugin/table"
	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/report"
	"github.com/exechunt/exechunt/offline/scan"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/engine"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// errFindings ends a scan that found something (exit status 1, no message).
var errFindings = errors.New("findings")

type scanFlags struct {
	packs    []string
	packsDir string
	minScore int
	format   string
	quiet    bool
	stacks   bool
	sigma    []string // Sigma rule files/folders to convert and run (sigma.go)
	packSet  bool     // --pack was given
	plugins  []string // --plugin PATH[:SHA256] (plugins.go)
}

func newScanCmd() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan [--pack NAME|all] [--min-score N] [--format table|json|csv|sarif] PATH...",
		Short: "Run the hunt packs over evidence files and print the findings",
		Long: `Runs every query of the chosen packs (the packs built into exechunt, plus those in
--packs-dir) on the offline engine over the evidence (EVTX, JSON lines, Sysmon-for-Linux
syslog, Linux audit logs; folders are read recursively). Each row a query returns is a finding, printed
with its pack, query, ATT&CK technique, severity, the row itself and its evidence
location (file and event record id, from the row's "evidence" column).

--min-score N drops rows whose "score" column is below N (rows without one are kept).
--sigma DIR evaluates Sigma rules (process_creation, ps_script) with the compiled Sigma
engine: each event table is read once and every rule evaluated on each event in one
pass; a finding names the rule's pack and query as "exechunt sigma convert" writes them
(see docs/sigma.md).
Queries of severity "info" only feed the fleet stacker (every row of a kind, ranked by
rarity across hosts); they are skipped unless --stacks is given.
Formats: "table" (one line per finding, command lines whole), "json" (an array), "csv", "sarif" (SARIF 2.1.0
for GitHub code scanning and other SARIF viewers). Findings are streamed to stdout;
progress and a summary go to stderr (progress only when stderr is a terminal).

The evidence is read first: each problem in it (a damaged EVTX chunk, a bad line, a
file that cannot be read or is of no known format) is named on stderr, and the summary
says how many files and events were read and how many files were skipped, unreadable
or damaged.

Exit status: 0 when nothing was found, 1 when there are findings, 2 on an error: bad
arguments, a pack that does not load, a query that fails (the other queries still
run), a path that does not exist or holds nothing readable, or evidence that was
partly unreadable or damaged (the findings of the rest are still written).`,
		Example: `  exechunt scan ./evidence/
  exechunt scan --pack execution-basics --min-score 70 Security.evtx Sysmon.evtx
  exechunt scan --packs-dir ./my-packs --format sarif ./evidence > exechunt.sarif
  exechunt scan --sigma ./sigma/rules/windows/process_creation ./evidence`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.packSet = cmd.Flags().Changed("pack")
			found, err := runScan(cmd.Context(), f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
			switch {
			case err != nil:
				return usageError{err}
			case found > 0:
				cmd.SilenceErrors = true
				return errFindings
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.packs, "pack", []string{"all"}, "packs to run, by name (repeat or comma-separate), or all")
	fl.StringVar(&f.packsDir, "packs-dir", "", "also load the packs (*.json, *.conf) of this folder; a pack named like a built-in one replaces it")
	fl.IntVar(&f.minScore, "min-score", 0, "drop findings whose score column is below N")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no summary on stderr (problems in the input are still shown)")
	fl.BoolVar(&f.stacks, "stacks", false, "also run the stack-only (severity info) queries")
	addFormatFlag(cmd, &f.format, report.FindingFormats...)
	addPluginFlag(cmd, &f.plugins)
	fl.StringSliceVar(&f.sigma, "sigma", nil, "evaluate the Sigma rules of these files or folders with the compiled Sigma engine (the built-in packs too only with --pack)")
	return cmd
}

// runScan runs the packs and returns the number of findings: offline/scan runs the
// queries, offline/report prints the findings and the progress line.
func runScan(ctx context.Context, f scanFlags, paths []string, stdout, stderr io.Writer) (int, error) {
	ps, err := scan.LoadPacks(f.packsDir, f.packs)
	if err != nil {
		return 0, err
	}
	// Sigma rules run on the compiled engine (one pass over each event table for
	// all of them); the packs' queries on the SQL engine.
	var sigmaRules []*sigma.Query
	var sigmaQueries []scan.Query
	if len(f.sigma) > 0 {
		sp, res, err := sigmaPacks(f.sigma)
		if err != nil {
			return 0, err
		}
		if !f.quiet {
			for _, k := range res.Skipped {
				fmt.Fprintf(stderr, "exechunt: warning: sigma rule not converted: %s: %s\n", termSafe(k.File), termSafe(report.OneLine(k.Reason, 300)))
			}
			fmt.Fprintf(stderr, "exechunt: sigma: %s\n", strings.TrimSpace(res.Summary().String()))
		}
		if !f.packSet {
			ps = nil
		}
		sigmaQueries = scan.Select(sp, f.stacks)
		sigmaRules = selectedRules(res.Queries, sigmaQueries)
	}
	queries := scan.Select(ps, f.stacks)
	if err := checkFormat(f.format, report.FindingFormats...); err != nil {
		return 0, err
	}
	var prog *report.Progress // started after the read; problems met by queries clear it
	e, ev, closeEngine, err := openEngine(ctx, paths, f.plugins, stderr, problemPrinter(stderr, func() {
		if prog != nil {
			prog.Clear()
		}
	}))
	if err != nil {
		return 0, err
	}
	defer closeEngine()
	start := time.Now()
	sum, err := ev.Read(ctx)
	if err != nil {
		return 0, escapedError{err}
	}
	out, err := report.NewFindingWriter(f.format, stdout, append(queries, sigmaQueries...), version)
	if err != nil {
		return 0, err
	}

	prog = report.StartProgress(stderr, f.quiet, len(queries)+len(sigmaQueries))
	s := scan.New(e, scan.Options{
		MinScore: f.minScore,
		OnQuery:  func(i int, q scan.Query, found int) { prog.Set(i, q.ID(), found) },
		OnError: func(q scan.Query, err error) {
			prog.Clear()
			fmt.Fprintf(stderr, "exechunt: error: %s: %v\n", q.ID(), err)
		},
	})
	st, err := s.Run(ctx, queries, out.Write)
	if err == nil && len(sigmaRules) > 0 {
		var sst scan.Stats
		sst, err = runSigma(ctx, sigmaRules, ev.Tables, f.minScore, prog, len(queries), st.Findings, stderr, out.Write)
		st.Queries += sst.Queries
		st.Failed += sst.Failed
		st.Findings += sst.Findings
	}
	prog.Stop()
	if err != nil {
		var oerr *scan.OutputError
		if errors.As(err, &oerr) {
			return st.Findings, fmt.Errorf("write output: %w", oerr.Err)
		}
		return st.Findings, err
	}
	if err := out.Close(); err != nil {
		return st.Findings, fmt.Errorf("write output: %w", err)
	}
	if !f.quiet {
		rules := ""
		if len(f.sigma) > 0 {
			rules = fmt.Sprintf(", %d Sigma rules", len(sigmaRules))
		}
		fmt.Fprintf(stderr, "exechunt: scan: %s; %d packs, %d queries%s (%d failed), %d findings in %s\n",
			evidenceLine(sum), len(ps), st.Queries-len(sigmaRules), rules, st.Failed, st.Findings, time.Since(start).Round(time.Millisecond))
	}
	if st.Failed > 0 {
		return st.Findings, fmt.Errorf("%d of %d queries failed", st.Failed, st.Queries)
	}
	return st.Findings, damagedInput(sum, "findings")
}

// selectedRules returns the converted rules whose pack queries scan.Select kept,
// in its order (the order the findings are written in).
func selectedRules(qs []*sigma.Query, selected []scan.Query) []*sigma.Query {
	byID := map[string]*sigma.Query{}
	for _, q := range qs {
		byID[q.Pack+"/"+q.Name] = q
	}
	var out []*sigma.Query
	for _, q := range selected {
		if r := byID[q.ID()]; r != nil {
			out = append(out, r)
		}
	}
	return out
}

// runSigma compiles the rules into the Sigma engine and runs it over the evidence
// tables. A rule the engine cannot evaluate counts as a failed query; its error is
// printed and the others still run. Progress continues after the pack queries
// (offset of them, found findings so far).
func runSigma(ctx context.Context, rules []*sigma.Query, tables []tablekit.Table, minScore int, prog *report.Progress,
	offset, found int, stderr io.Writer, fn func(*finding.Finding) error) (scan.Stats, error) {
	schemas := map[string][]table.ColumnDefinition{}
	for _, t := range tables {
		schemas[t.Name] = t.Columns
	}
	e, skipped := engine.New(rules, schemas)
	for _, k := range skipped {
		prog.Clear()
		fmt.Fprintf(stderr, "exechunt: error: %s/%s: %s\n", k.Query.Pack, k.Query.Name, k.Reason)
	}
	st, err := scan.Sigma(ctx, e, tables, scan.Options{
		MinScore: minScore,
		OnQuery: func(i int, q scan.Query, n int) {
			prog.Set(offset+i, q.ID(), found+n)
		},
	}, fn)
	st.Queries += len(skipped)
	st.Failed += len(skipped)
	return st, err
}
