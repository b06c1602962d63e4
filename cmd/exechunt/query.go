package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/offline/report"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/csvsafe"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs/packlint"
)

func newQueryCmd() *cobra.Command {
	var hosts, format, discovery string
	var timeout time.Duration
	var quiet bool
	var targets targeting.Targets
	cmd := apiCmd(&cobra.Command{
		Use:   "query [flags] SQL",
		Short: "Run a live query on enrolled hosts and stream the rows",
		Long: `Sends SQL to the selected hosts as an osquery distributed query and prints rows
as hosts answer, each with the host it came from. A progress line (hosts responded /
targeted) goes to stderr when it is a terminal, and a summary line ends the run.
--hosts takes a comma-separated selector: "all", platform names (windows, linux,
darwin, freebsd), host ids, or hostnames (or host identifiers); a host id or name
that is not enrolled, or a selector that selects no enrolled host, is refused with
its name.

Columns are printed in the order of the SELECT. Hosts' errors are printed once per
distinct message, with how many hosts sent it, after the rows.

Exit status: 0 when at least one host answered (with or without rows), 1 when no
host answered (every host failed the query or was offline: bad SQL, say), on
--hosts naming nothing enrolled and on other errors, 2 on bad flags.`,
		Example: `  exechunt query --hosts all "SELECT name, parent_name, cmdline FROM process_lineage WHERE parent_name = 'winword.exe'"
  exechunt query --hosts windows,web01 --format csv "SELECT * FROM process_creation_events WHERE score >= 80"`,
		Args: cobra.ExactArgs(1),
	}, func([]string) error {
		if !slices.Contains([]string{"table", "json", "csv"}, format) {
			return usageError{fmt.Errorf("--format %q: want table, json or csv", format)}
		}
		var err error
		if targets, err = parseSelector(hosts); err != nil {
			return usageError{err}
		}
		return nil
	}, func(cmd *cobra.Command, args []string, c *client.Client) error {
		return runLiveQuery(cmd.Context(), c, cmd.OutOrStdout(), cmd.ErrOrStderr(), apiv1.CreateQueryRequest{
			SQL: args[0], Discovery: discovery, Targets: targets, Timeout: timeout.String()}, format, quiet)
	})
	fl := cmd.Flags()
	fl.StringVar(&hosts, "hosts", "all", "hosts to query: all, platforms, ids or hostnames (comma-separated)")
	fl.DurationVar(&timeout, "timeout", 60*time.Second, "give up on hosts that have not answered after this long")
	fl.StringVar(&format, "format", "table", "output format: table, json (one object per line) or csv")
	fl.StringVar(&discovery, "discovery", "", "osquery discovery query: hosts where it returns no rows skip the query")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress line")
	return cmd
}

// parseSelector turns "all" / "linux,12,web01" into targets.
func parseSelector(s string) (targeting.Targets, error) {
	var t targeting.Targets
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		lp := strings.ToLower(p)
		switch {
		case p == "":
		case lp == "all":
			t.All = true
		case lp == "windows" || lp == "linux" || lp == "darwin" || lp == "macos" || lp == "freebsd":
			if lp == "macos" {
				lp = "darwin"
			}
			t.Platforms = append(t.Platforms, lp)
		default:
			if id, err := strconv.ParseInt(p, 10, 64); err == nil && id > 0 {
				t.HostIDs = append(t.HostIDs, id)
			} else {
				t.Hostnames = append(t.Hostnames, p)
			}
		}
	}
	if !t.All && len(t.Platforms)+len(t.HostIDs)+len(t.Hostnames) == 0 {
		return t, fmt.Errorf("--hosts %q selects nothing", s)
	}
	return t, nil
}

func runLiveQuery(ctx context.Context, c *client.Client, out, errOut io.Writer, req apiv1.CreateQueryRequest, format string, quiet bool) error {
	q, err := c.CreateQuery(ctx, req)
	if err != nil {
		return err
	}
	order := selectColumns(req.SQL)
	total, answered, rows := q.Hosts, 0, 0
	// The progress line redraws itself, so it goes only to a terminal: redirected
	// to a file, stderr gets the summary alone.
	live := !quiet && report.IsTerminal(errOut)
	progress := func(final bool) {
		if !live {
			return
		}
		end := "\r"
		if final {
			end = "\n"
		}
		fmt.Fprintf(errOut, "\r\033[Kquery %d: %d/%d hosts responded, %d rows%s", q.ID, answered, total, rows, end)
	}
	progress(false)
	// Table output needs every column up front; it is printed at the end.
	var buffered []apiv1.Row
	var cw *csvsafe.Writer
	var csvCols []string
	var errs hostErrors
	enc := json.NewEncoder(out)
	ev := client.Events{
		Row: func(r apiv1.Row) {
			rows++
			switch format {
			case "json":
				enc.Encode(map[string]any{"host_id": r.HostID, "hostname": r.Hostname, "columns": r.Columns})
			case "csv":
				if cw == nil {
					cw = csvsafe.NewWriter(out)
					csvCols = columnsInOrder(order, []apiv1.Row{r})
					cw.Write(append([]string{"host"}, csvCols...))
				}
				rec := []string{r.Hostname}
				for _, k := range csvCols {
					rec = append(rec, r.Columns[k])
				}
				cw.Write(rec)
				cw.Flush()
			default:
				buffered = append(buffered, r)
			}
		},
		Host: func(h apiv1.HostState) {
			if h.Final {
				answered++
				if h.State == "error" {
					errs.add(h.Hostname, h.Message)
				}
			}
			progress(false)
		},
	}
	sum, err := c.Follow(ctx, q.ID, ev)
	if err != nil {
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.CancelQuery(cctx, q.ID)
			cancel()
		}
		return err
	}
	progress(true)
	if format == "table" && len(buffered) > 0 {
		keys := columnsInOrder(order, buffered)
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		head := []string{"HOST"}
		for _, k := range keys {
			head = append(head, termSafe(strings.ToUpper(k)))
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, r := range buffered {
			vals := []string{termSafe(r.Hostname)}
			for _, k := range keys {
				vals = append(vals, termSafe(r.Columns[k]))
			}
			fmt.Fprintln(tw, strings.Join(vals, "\t"))
		}
		tw.Flush()
	}
	errs.print(errOut, q.ID)
	if !quiet {
		fmt.Fprintf(errOut, "query %d %s: %s; %d rows\n", q.ID, sum.State, countWords(sum.Counts), sum.Rows)
	}
	if sum.Counts["ok"]+sum.Counts["no-rows"] == 0 {
		return fmt.Errorf("query %d: no host answered it (%s)", q.ID, countWords(sum.Counts))
	}
	return nil
}

// hostErrors gathers the hosts' error messages of a live query, so that each
// distinct message is printed once with the hosts that sent it, not once a host.
type hostErrors struct {
	msgs  []string // distinct messages, in the order first met
	hosts map[string][]string
}

// Bounds on what hosts' errors print: the messages come from the agents.
const (
	maxHostErrors    = 10  // distinct messages printed
	maxHostErrLines  = 6   // lines of one message
	maxHostErrLine   = 300 // characters of a line
	maxHostsPerError = 3   // hosts named per message
)

func (e *hostErrors) add(host, msg string) {
	if e.hosts == nil {
		e.hosts = map[string][]string{}
	}
	if _, ok := e.hosts[msg]; !ok {
		e.msgs = append(e.msgs, msg)
	}
	e.hosts[msg] = append(e.hosts[msg], host)
}

// print writes each distinct message as a warning naming how many hosts sent it
// and the first of them; its lines (a SQL error's caret line) are kept, each
// escaped (termSafe) and clipped.
func (e *hostErrors) print(w io.Writer, id int64) {
	for i, msg := range e.msgs {
		if i == maxHostErrors {
			n := 0
			for _, m := range e.msgs[i:] {
				n += len(e.hosts[m])
			}
			fmt.Fprintf(w, "exechunt: warning: query %d: %d more distinct errors on %d hosts\n", id, len(e.msgs)-i, n)
			return
		}
		hs := e.hosts[msg]
		names := make([]string, 0, maxHostsPerError+1)
		for _, h := range hs[:min(len(hs), maxHostsPerError)] {
			names = append(names, termSafe(report.OneLine(h, 80)))
		}
		if len(hs) > maxHostsPerError {
			names = append(names, "…")
		}
		lines := strings.Split(strings.TrimRight(msg, "\n"), "\n")
		if len(lines) > maxHostErrLines {
			lines = append(lines[:maxHostErrLines], "…")
		}
		for j, l := range lines {
			if r := []rune(l); len(r) > maxHostErrLine {
				l = string(r[:maxHostErrLine-1]) + "…"
			}
			lines[j] = termSafe(l)
		}
		fmt.Fprintf(w, "exechunt: warning: query %d: error on %d %s (%s): %s\n", id, len(hs), plural(len(hs), "host", "hosts"),
			strings.Join(names, ", "), strings.Join(lines, "\n    "))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// selectColumns returns the result columns of sql in SELECT order, from compiling
// it over stub tables with osquery's and the extension's columns (packlint): the
// rows of a live query come as objects, without their order. It returns nil when
// the SQL does not compile here (a table of another extension, say).
func selectColumns(sql string) []string {
	ext, err := extensionSchema("")
	if err != nil {
		return nil
	}
	l, err := packlint.New(packlint.OsquerySchema(), ext)
	if err != nil {
		return nil
	}
	defer l.Close()
	cols, err := l.Columns(sql)
	if err != nil {
		return nil
	}
	return cols
}

// columnsInOrder is order's columns that the rows have, then the rest of the
// rows' columns in name order.
func columnsInOrder(order []string, rows []apiv1.Row) []string {
	seen := map[string]bool{}
	for _, r := range rows {
		for k := range r.Columns {
			seen[k] = true
		}
	}
	var out []string
	for _, k := range order {
		if seen[k] {
			out = append(out, k)
			delete(seen, k)
		}
	}
	return append(out, slices.Sorted(maps.Keys(seen))...)
}
