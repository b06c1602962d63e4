package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/report"
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/evidence"
)

type eventsFlags struct {
	format       string
	all          bool
	since, until string
	quiet        bool
	raw          bool
}

func newEventsCmd() *cobra.Command {
	var f eventsFlags
	cmd := &cobra.Command{
		Use:   "events [flags] PATH...",
		Short: "Print the normalised execution events found in evidence files and folders",
		Long: `Reads EVTX files, JSON-lines/JSON exports (OTRF/NXLog, Winlogbeat, evtx_dump),
Sysmon-for-Linux syslog and Linux audit logs (audit.log, ausearch --raw), recursively
for folders, and prints one normalised event per line: process creations (Sysmon 1,
Security 4688, Sysmon for Linux 1, Linux audit execve), PowerShell
script-block parts (4104) and PowerShell pipeline records (4103, 800).
Process creations are scored with their parent's score as the event tables score
them (parent_suspicious): the process creations are read once first to know every
parent, then the evidence is read for output (--no-analysis reads it once).
Problems in the input (damaged chunks, bad lines) go to stderr with the file and place;
reading goes on. A summary ends the run on stderr.`,
		Example: `  exechunt events ./evidence/
  exechunt events --format table Security.evtx
  exechunt events --since 2024-01-02T00:00:00Z --all sysmon.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvents(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "jsonl", "output format: jsonl or table")
	fl.BoolVar(&f.all, "all", false, "also print non-execution events (kind \"other\")")
	fl.StringVar(&f.since, "since", "", "only events at or after this time (RFC 3339)")
	fl.StringVar(&f.until, "until", "", "only events at or before this time (RFC 3339)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no summary on stderr (problems are still shown)")
	fl.BoolVar(&f.raw, "no-analysis", false, "skip decoding, tagging and scoring (faster; no indicators/score)")
	return cmd
}

func runEvents(cmd *cobra.Command, args []string, f eventsFlags) error {
	opt := evidence.Options{All: f.all}
	if !f.raw {
		opt.Analyzer = analysis.New()
		// Parents are scored as the event tables score them (parent_suspicious).
		opt.Lineage = eventtables.NewScorer(opt.Analyzer, eventtables.DefaultCacheBytes)
	}
	var err error
	if opt.Since, err = parseTimeFlag("since", f.since); err != nil {
		return err
	}
	if opt.Until, err = parseTimeFlag("until", f.until); err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
	defer out.Flush()

	var write func(*event.Event) error
	flushTable := func() {}
	switch f.format {
	case "jsonl":
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		write = func(e *event.Event) error { return enc.Encode(e) }
	case "table":
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		flushTable = func() { tw.Flush() }
		fmt.Fprintln(tw, "TIME\tCOMPUTER\tEVENT\tPID\tSCORE\tWHAT\tDETAIL")
		write = func(e *event.Event) error {
			if emptyPipeline(e) {
				return nil // a line with nothing to read; jsonl keeps it
			}
			return writeRow(tw, e)
		}
	default:
		return usageError{fmt.Errorf("--format %q: want jsonl or table", f.format)}
	}

	start := time.Now()
	opt.Problem = problemPrinter(stderr, nil)
	if !f.quiet {
		opt.ProgressEvery = time.Second
		opt.Progress = func(p evidence.Progress) {
			if p.Elapsed < 2*time.Second {
				return // short runs stay quiet
			}
			if p.Indexing {
				fmt.Fprintf(stderr, "exechunt: indexing process lineage %d/%d files, %s/%s, %s\n",
					p.FilesDone, p.Files, mib(p.BytesDone), mib(p.Bytes), p.Elapsed.Round(time.Second))
				return
			}
			fmt.Fprintf(stderr, "exechunt: reading %d/%d files, %s/%s, %d events, %s\n",
				p.FilesDone, p.Files, mib(p.BytesDone), mib(p.Bytes), p.Events, p.Elapsed.Round(time.Second))
		}
	}
	sum, err := evidence.Walk(cmd.Context(), args, opt, write)
	flushTable()
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "exechunt: %s, %d skipped, %d damaged chunks, %d bad lines, %d problems in %s\n",
			evidenceLine(sum), sum.Skipped, sum.DamagedChunks, sum.BadLines, sum.Problems, time.Since(start).Round(time.Millisecond))
	}
	return err
}

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--%s %q: want an RFC 3339 time such as 2024-01-02T15:04:05Z", name, v)}
	}
	return t, nil
}

func writeRow(w io.Writer, e *event.Event) error {
	var pid int64
	what, detail := string(e.Kind), ""
	switch {
	case e.ProcessCreation != nil:
		pid, what = e.PID, e.Image
		detail = e.Cmdline
	case e.ScriptBlockPart != nil:
		pid = e.ExecutionPID
		what = fmt.Sprintf("script %s %d/%d", e.ScriptBlockID, e.MessageNumber, e.MessageTotal)
		detail = e.ScriptText
	case e.Pipeline != nil:
		pid, what = e.ExecutionPID, "pipeline "+e.HostApplication
		detail = e.Payload
	}
	_, err := fmt.Fprintf(w, "%s\t%s\t%s/%d\t%d\t%d\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Computer,
		shortProvider(e.Provider), e.EventID, pid, e.Score, report.OneLine(what, 60), report.OneLine(detail, 120))
	return err
}

// emptyPipeline reports whether e is a PowerShell pipeline record with no command
// or script content (no host application, command line, script name or payload):
// PowerShell writes many such 800/4103 records, and as table lines they are noise.
func emptyPipeline(e *event.Event) bool {
	p := e.Pipeline
	return p != nil && p.HostApplication == "" && p.CommandLine == "" && p.ScriptName == "" && p.Payload == ""
}

func shortProvider(p string) string {
	p = strings.TrimPrefix(p, "Microsoft-Windows-")
	return strings.TrimSuffix(p, "-Auditing")
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func kinds(m map[string]int64) string {
	var parts []string
	for _, k := range []event.Kind{event.KindProcessCreation, event.KindScriptBlockPart, event.KindPipeline, event.KindOther} {
		if n := m[string(k)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
