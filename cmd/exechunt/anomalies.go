package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/report"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
)

// anomalyFormats are the output formats of anomalies and stacks.
var anomalyFormats = []string{"table", "json", "jsonl", "csv"}

func newAnomaliesCmd() *cobra.Command {
	var state, hunt, technique, host string
	var limit int
	cmd := apiFormatCmd(&cobra.Command{
		Use:   "anomalies [flags]",
		Short: "List the fleet-wide stacked findings, best ranked first (rare, new against the baseline, high score)",
		Example: `  exechunt anomalies
  exechunt anomalies --state open --technique T1059 --limit 20
  exechunt anomalies --format jsonl > anomalies.jsonl`,
		Args: cobra.NoArgs,
	}, anomalyFormats, nil, func(cmd *cobra.Command, _ []string, c *client.Client, format string) error {
		q := url.Values{}
		for k, v := range map[string]string{"state": state, "hunt": hunt, "technique": technique, "host": host} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		list, err := c.Anomalies(cmd.Context(), q)
		if err != nil {
			return err
		}
		return writeAnomalies(cmd.OutOrStdout(), format, list)
	})
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "open", "triage state: open, acknowledged, suppressed, resolved, or '' for all")
	fl.StringVar(&hunt, "hunt", "", "only anomalies fed by this hunt")
	fl.StringVar(&technique, "technique", "", "only this ATT&CK technique (prefix: T1059 matches T1059.001)")
	fl.StringVar(&host, "host", "", "only anomalies seen on this host")
	fl.IntVar(&limit, "limit", 100, "at most this many (0: all)")
	return cmd
}

func newStacksCmd() *cobra.Command {
	return apiFormatCmd(&cobra.Command{
		Use:   "stacks [PACK/QUERY]",
		Short: "Show how a hunt query's results stack across the fleet (without a query: the stacked queries)",
		Long: `Show how a hunt query's results stack across the fleet (without a query: the stacked queries).
A stack is one set of stack-column values across every query that stacks by those columns, so its
hosts, rank and id are the same here and in 'exechunt anomalies'. An unknown PACK/QUERY is an error.`,
		Example: `  exechunt stacks
  exechunt stacks rarity/rare_parent_child`,
		Args: cobra.MaximumNArgs(1),
	}, anomalyFormats, nil, func(cmd *cobra.Command, args []string, c *client.Client, format string) error {
		out := cmd.OutOrStdout()
		if len(args) == 0 {
			qs, err := c.StackedQueries(cmd.Context())
			if err != nil {
				return err
			}
			for _, q := range qs {
				fmt.Fprintln(out, q)
			}
			return nil
		}
		list, err := c.Stacks(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return writeAnomalies(out, format, list)
	})
}

func newTriageCmd() *cobra.Command {
	var state, why string
	var suppress, ack, resolve, reopen bool
	var id string
	cmd := apiCmd(&cobra.Command{
		Use:   "triage ID (--acknowledge | --suppress --why TEXT | --resolve | --reopen)",
		Short: "Triage an anomaly: acknowledge it, suppress it into the baseline (with a reason), resolve or reopen it",
		Long: `Triage an anomaly: acknowledge it, suppress it into the baseline (with a reason), resolve or reopen it.
ID is the anomaly's short id as 'exechunt anomalies' shows it (the numeric ids of earlier versions work too).`,
		Example: `  exechunt triage 7k3f9x2pq7 --acknowledge
  exechunt triage 7k3f9x2pq7 --suppress --why "IIS health probe, approved by change 1432"`,
		Args: cobra.ExactArgs(1),
	}, func(args []string) error {
		id = strings.TrimSpace(args[0])
		if id == "" || strings.ContainsAny(id, "/?#") {
			return usageError{fmt.Errorf("anomaly id %q: want the id 'exechunt anomalies' shows", args[0])}
		}
		n := 0
		for flag, s := range map[*bool]string{&ack: "acknowledged", &suppress: "suppressed", &resolve: "resolved", &reopen: "open"} {
			if *flag {
				state, n = s, n+1
			}
		}
		if n != 1 {
			return usageError{fmt.Errorf("give exactly one of --acknowledge, --suppress, --resolve, --reopen")}
		}
		if state == "suppressed" && strings.TrimSpace(why) == "" {
			return usageError{fmt.Errorf("--suppress needs --why: suppression moves the stack into the baseline")}
		}
		return nil
	}, func(cmd *cobra.Command, _ []string, c *client.Client) error {
		a, err := c.Triage(cmd.Context(), id, state, why)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "anomaly %s (%s) is now %s\n", a.ID, a.Text(), a.State)
		return nil
	})
	fl := cmd.Flags()
	fl.BoolVar(&ack, "acknowledge", false, "mark it seen and being looked at")
	fl.BoolVar(&suppress, "suppress", false, "mark it normal: the stack joins the baseline (needs --why)")
	fl.BoolVar(&resolve, "resolve", false, "mark it dealt with")
	fl.BoolVar(&reopen, "reopen", false, "open it again")
	fl.StringVar(&why, "why", "", "the reason, recorded with who and when")
	return cmd
}

// writeAnomalies prints anomalies or stacks.
func writeAnomalies(out io.Writer, format string, list []apiv1.Anomaly) error {
	if format == "jsonl" || format == "csv" {
		return apiv1.WriteAnomalies(out, format, list)
	}
	return printList(out, format, list, "ID\tRANK\tSTATE\tTECHNIQUE\tHOSTS\tSCORE\tQUERIES\tSTACK\tWHY", func(w io.Writer, a apiv1.Anomaly) {
		fmt.Fprintf(w, "%s\t%.2f\t%s\t%s\t%d (%.1f%%)\t%d\t%s\t%s\t%s\n", a.ID, a.Rank, a.State, a.Technique, a.HostCount,
			100*a.Prevalence, a.MaxScore, queriesCell(a), report.OneLine(a.Text(), 60), report.OneLine(strings.Join(a.Reasons, "; "), 80))
	})
}

// queriesCell names the query that first returned a stack and how many more did.
func queriesCell(a apiv1.Anomaly) string {
	if len(a.Queries) <= 1 {
		return a.Query
	}
	return fmt.Sprintf("%s +%d", a.Query, len(a.Queries)-1)
}

func newSuppressionsCmd() *cobra.Command {
	cmd := newListCmd("suppressions", "List suppression rules (stack patterns and host sets that are normal in this fleet)",
		"ID\tQUERY\tPATTERN\tHOSTS\tREASON\tBY\tAT", func(ctx context.Context, c *client.Client) ([]apiv1.SuppressionRule, error) {
			return c.SuppressionRules(ctx)
		},
		func(w io.Writer, r apiv1.SuppressionRule) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Query, r.Pattern, strings.Join(r.Hosts, ","), r.Reason, r.By, r.At)
		})

	var query, pattern, hosts, why string
	var ruleID int64
	add := apiCmd(&cobra.Command{
		Use:   "add --pattern GLOB --why TEXT [--query GLOB] [--hosts h1,h2]",
		Short: "Make every stack matching a pattern (and seen only on the given hosts) part of the baseline",
		Example: `  exechunt suppressions add --query 'rarity/*' --pattern '*parent_name=backupagent.exe*' --why "nightly backup"
  exechunt suppressions add --pattern '*name=msiexec.exe*' --hosts build01,build02 --why "build agents install packages"`,
		Args: cobra.NoArgs,
	}, func([]string) error {
		if strings.TrimSpace(pattern) == "" || strings.TrimSpace(why) == "" {
			return usageError{fmt.Errorf("--pattern and --why are required")}
		}
		return nil
	}, func(cmd *cobra.Command, _ []string, c *client.Client) error {
		r := apiv1.SuppressionRule{Query: query, Pattern: pattern, Reason: why}
		if hosts != "" {
			r.Hosts = strings.Split(hosts, ",")
		}
		got, err := c.AddSuppressionRule(cmd.Context(), r)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "suppression rule %d added\n", got.ID)
		return nil
	})
	af := add.Flags()
	af.StringVar(&query, "query", "", "hunt queries the rule applies to (glob over pack/query; default all)")
	af.StringVar(&pattern, "pattern", "", `glob over the stack text "column=value | …" (case-insensitive)`)
	af.StringVar(&hosts, "hosts", "", "only stacks seen on these hosts alone (comma-separated)")
	af.StringVar(&why, "why", "", "the reason, recorded with who and when")

	del := apiCmd(&cobra.Command{
		Use:   "delete ID",
		Short: "Remove a suppression rule",
		Args:  cobra.ExactArgs(1),
	}, idArg(&ruleID, "rule id %q: want a number"), func(cmd *cobra.Command, _ []string, c *client.Client) error {
		return c.DeleteSuppressionRule(cmd.Context(), ruleID)
	})
	cmd.AddCommand(add, del)
	return cmd
}
