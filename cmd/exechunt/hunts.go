package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/report"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
)

func shortTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func newHuntsCmd() *cobra.Command {
	var next int
	cmd := newListCmd("hunts [flags]", "List the scheduled hunts with their next runs; run one now; show runs",
		"HUNT\tMODE\tPACK\tTARGETS\tSCHEDULE\tNEXT RUNS\tLAST RUN",
		func(ctx context.Context, c *client.Client) ([]apiv1.Hunt, error) { return c.Hunts(ctx, next) },
		printHunt)
	cmd.Long = `Lists the hunts the orchestrator runs: dispatch hunts (the orchestrator sends the
pack's queries to the targets at each cron tick, UTC) and push hunts (the queries
are in the targets' osquery schedule). See docs/hunts.md.`
	cmd.Example = `  exechunt hunts
  exechunt hunts run execution-basics
  exechunt hunts runs execution-basics
  exechunt hunts show 42 --rows`
	cmd.Flags().IntVar(&next, "next", 3, "how many next run times to show")
	cmd.AddCommand(newHuntsRunCmd(), newHuntsRunsCmd("runs NAME", "The runs of a hunt, latest first"),
		newHuntsShowCmd(), newHuntsCreateCmd(), newHuntsDeleteCmd())
	return cmd
}

// printHunt prints a hunt as a line of the hunts table.
func printHunt(w io.Writer, h apiv1.Hunt) {
	var nexts []string
	for _, t := range h.NextRuns {
		nexts = append(nexts, shortTime(t))
	}
	last := "never"
	if r := h.LastRun; r != nil {
		last = fmt.Sprintf("#%d %s %s, %d/%d hosts, %d rows", r.ID, r.State, shortTime(r.StartedAt),
			r.HostsResponded, r.HostsTargeted, r.Rows)
	}
	if h.Mode == "push" {
		last = "result logs"
	}
	sched := h.ScheduleWords
	if h.Problem != "" {
		sched += " [" + h.Problem + "]"
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Mode, h.Pack, h.TargetWords, sched,
		strings.Join(dashIfNone(nexts), ", "), last)
}

func dashIfNone(s []string) []string {
	if len(s) == 0 {
		return []string{"—"}
	}
	return s
}

func newHuntsRunCmd() *cobra.Command {
	var wait time.Duration
	cmd := apiFormatCmd(&cobra.Command{
		Use:   "run NAME",
		Short: "Start a run of a dispatch hunt now",
		Args:  cobra.ExactArgs(1),
	}, tableOrJSON, nil, func(cmd *cobra.Command, args []string, c *client.Client, format string) error {
		r, err := c.RunHunt(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "run %d of %s started; follow it with: exechunt hunts show %d\n", r.ID, r.Hunt, r.ID)
		if wait > 0 {
			deadline := time.Now().Add(wait)
			for r.State == "running" && time.Now().Before(deadline) {
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(time.Second):
				}
				d, err := c.HuntRun(cmd.Context(), r.ID)
				if err != nil {
					return err
				}
				r = d.Run
			}
		}
		return printRuns(cmd.OutOrStdout(), format, []apiv1.HuntRun{r})
	})
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the run to end")
	return cmd
}

func newHuntsRunsCmd(use, short string) *cobra.Command {
	var limit int
	cmd := apiFormatCmd(&cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MaximumNArgs(1),
	}, tableOrJSON, func(args []string) error {
		if strings.HasPrefix(use, "runs NAME") && len(args) == 0 {
			return usageError{fmt.Errorf("name the hunt (exechunt hunts runs NAME), or use exechunt runs")}
		}
		return nil
	}, func(cmd *cobra.Command, args []string, c *client.Client, format string) error {
		name := ""
		if len(args) == 1 {
			name = args[0]
		}
		rs, err := c.HuntRuns(cmd.Context(), name, limit)
		if err != nil {
			return err
		}
		return printRuns(cmd.OutOrStdout(), format, rs)
	})
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs")
	return cmd
}

// newRunsCmd is `exechunt runs [HUNT]`: the run history of one hunt or all.
func newRunsCmd() *cobra.Command {
	return newHuntsRunsCmd("runs [HUNT]", "The history of hunt runs, latest first (all hunts or one)")
}

func printRuns(w io.Writer, format string, rs []apiv1.HuntRun) error {
	return printList(w, format, rs, "RUN\tHUNT\tTRIGGER\tSTATE\tSTARTED\tDURATION\tTARGETED\tRESPONDED\tERRORED\tOFFLINE\tROWS", func(w io.Writer, r apiv1.HuntRun) {
		trig := r.Trigger
		if r.By != "" {
			trig += " (" + r.By + ")"
		}
		state := r.State
		if r.Message != "" {
			state += ": " + r.Message
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", r.ID, r.Hunt, trig, state, shortTime(r.StartedAt),
			(time.Duration(r.DurationMS) * time.Millisecond).String(), r.HostsTargeted, r.HostsResponded, r.HostsErrored,
			r.HostsOffline, r.Rows)
	})
}

func newHuntsShowCmd() *cobra.Command {
	var query string
	var rows bool
	var id int64
	cmd := apiFormatCmd(&cobra.Command{
		Use:   "show RUN_ID",
		Short: "A run's queries (with their time windows), per-host states and, with --rows, its rows",
		Args:  cobra.ExactArgs(1),
	}, tableOrJSON, idArg(&id, "bad run id %q"), func(cmd *cobra.Command, args []string, c *client.Client, format string) error {
		d, err := c.HuntRun(cmd.Context(), id)
		if err != nil {
			return err
		}
		var all []apiv1.HuntRow
		if rows {
			for off := 0; ; {
				page, err := c.RunRows(cmd.Context(), id, query, off, 1000)
				if err != nil {
					return err
				}
				all = append(all, page.Rows...)
				if page.NextOffset == nil {
					break
				}
				off = *page.NextOffset
			}
		}
		out := cmd.OutOrStdout()
		if format == "json" {
			return printJSON(out, map[string]any{"run": d.Run, "queries": d.Queries, "hosts": d.Hosts, "rows": all})
		}
		if err := printRuns(out, "table", []apiv1.HuntRun{d.Run}); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nQUERY\tLIVE QUERY\tWINDOW\tHOSTS\tROWS\tSTATES")
		for _, q := range d.Queries {
			win := "none (snapshot)"
			if q.WindowStart != nil {
				win = "(" + shortTime(*q.WindowStart) + ", " + shortTime(d.Run.WindowEnd) + "]"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", q.Query, q.LiveQueryID, win, q.Hosts, q.Rows, countWords(q.Counts))
		}
		fmt.Fprintln(tw, "\nHOST\tSTATE\tROWS\tMESSAGE")
		for _, h := range d.Hosts {
			fmt.Fprintf(tw, "%s (%d)\t%s\t%d\t%s\n", termSafe(h.Hostname), h.HostID, h.State, h.Rows,
				termSafe(report.OneLine(h.Message, problemLen)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, r := range all {
			b, _ := json.Marshal(r.Columns)
			fmt.Fprintf(out, "%s\t%s\t%s\n", termSafe(r.Hostname), r.Query, termSafe(string(b)))
		}
		return nil
	})
	cmd.Flags().BoolVar(&rows, "rows", false, "also print the rows (all pages)")
	cmd.Flags().StringVar(&query, "query", "", "only the rows of this query")
	return cmd
}

func newHuntsCreateCmd() *cobra.Command {
	var api apiFlags
	var replace bool
	cmd := &cobra.Command{
		Use:   "create FILE",
		Short: "Define a hunt (or, with --replace, redefine it) from a JSON file",
		Long: `FILE holds the hunt as JSON ("-" reads stdin), e.g.
  {"name": "office-shells", "pack": "office-and-web-parents", "queries": ["office_app_spawning_shell"],
   "targets": {"platforms": ["windows"]}, "mode": "dispatch", "schedule": "*/30 * * * *", "timeout": "10m"}
Push hunts use "mode": "push" and an optional "interval" (seconds) instead of "schedule".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b []byte
			var err error
			if args[0] == "-" {
				b, err = io.ReadAll(cmd.InOrStdin())
			} else {
				b, err = os.ReadFile(args[0])
			}
			if err != nil {
				return usageError{err}
			}
			var req apiv1.HuntRequest
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return usageError{fmt.Errorf("%s: %w", args[0], err)}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			var h apiv1.Hunt
			if replace {
				h, err = c.UpdateHunt(cmd.Context(), req.Name, req)
			} else {
				h, err = c.CreateHunt(cmd.Context(), req)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "hunt %s: %s, %s\n", h.Name, h.ScheduleWords, h.TargetWords)
			return nil
		},
	}
	api.add(cmd)
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the existing hunt of that name")
	return cmd
}

func newHuntsDeleteCmd() *cobra.Command {
	cmd := apiCmd(&cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a hunt (its runs stay in the history)",
		Args:  cobra.ExactArgs(1),
	}, nil, func(cmd *cobra.Command, args []string, c *client.Client) error {
		return c.DeleteHunt(cmd.Context(), args[0])
	})
	return cmd
}
