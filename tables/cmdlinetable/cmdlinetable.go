// Package cmdlinetable is the command_line_analysis table: the decoding, tagging and
// scoring of tables/analysis applied to the command lines a query names with
// `cmdline = '…'` (or `cmdline IN (…)`), so that packs can JOIN any table's command
// lines to their analysis:
//
//	SELECT p.pid, a.score, a.indicators
//	FROM processes p JOIN command_line_analysis a ON a.cmdline = p.cmdline
//	WHERE a.score >= 50;
//
// cmdline is a required column: without an equality constraint on it osquery
// refuses the query, and Generate returns no rows.
package cmdlinetable

import (
	"context"
	"strconv"
	"strings"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Name is the table's name, a public contract.
const Name = "command_line_analysis"

// Columns of command_line_analysis, in order.
func columns() []table.ColumnDefinition {
	d := table.ColumnDescription
	return []table.ColumnDefinition{
		table.TextColumn("cmdline", table.RequiredColumn(), d("The command line analysed (required: WHERE cmdline = '…' or IN (…))")),
		table.TextColumn("program", d("Lower-case base name of the program, e.g. powershell.exe, bash")),
		table.TextColumn("family", d("powershell, cmd, script_host, lolbin, posix_shell or other")),
		table.TextColumn("flags", d("Normalised flags, comma-separated, e.g. -encodedcommand,-windowstyle hidden")),
		table.TextColumn("encoded_command", d("The -EncodedCommand value as given")),
		table.TextColumn("decoded_command", d("The most decoded text; empty when nothing was decoded")),
		table.TextColumn("urls", d("URLs found in the command line or its decoded text, comma-separated")),
		table.TextColumn("ips", d("IP addresses found, comma-separated")),
		table.TextColumn("indicators", d("Indicator tags, comma-separated, sorted (see docs/indicators.md)")),
		table.IntegerColumn("score", d("0-100; every tag that raised it is in indicators")),
		table.DoubleColumn("entropy", d("Shannon entropy (bits per byte) of the decoded text or the command line")),
		table.DoubleColumn("cosine_similarity", d("Cosine between the text's byte frequencies and the reference vector (osquery's powershell_events.cosine_similarity)")),
	}
}

// New returns the command_line_analysis table backed by a.
func New(a *analysis.Analyzer) tablekit.Table {
	return tablekit.Table{
		Name:        Name,
		Description: "Decoding, indicator tags and score of the command lines given by WHERE cmdline = '…' (or IN); JOIN other tables' command lines to it.",
		Columns:     columns(),
		Generate:    generate(a),
	}
}

func generate(a *analysis.Analyzer) table.GenerateFunc {
	return func(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
		values, _ := tablekit.Equals(qc, "cmdline")
		rows := make([]map[string]string, 0, len(values))
		seen := make(map[string]bool, len(values))
		for _, v := range values {
			if seen[v] {
				continue
			}
			seen[v] = true
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			rows = append(rows, Row(v, a.AnalyzeCommandLine(v, analysis.Process{})))
		}
		return rows, nil
	}
}

// Row renders the analysis r of cmdline as a table row.
func Row(cmdline string, r analysis.Result) map[string]string {
	return map[string]string{
		"cmdline":           cmdline,
		"program":           r.Program,
		"family":            r.Family,
		"flags":             strings.Join(r.Flags, ","),
		"encoded_command":   r.EncodedCommand,
		"decoded_command":   r.DecodedCommand,
		"urls":              strings.Join(r.URLs, ","),
		"ips":               strings.Join(r.IPs, ","),
		"indicators":        strings.Join(r.Indicators, ","),
		"score":             strconv.Itoa(r.Score),
		"entropy":           formatFloat(r.Entropy),
		"cosine_similarity": formatFloat(r.CosineSimilarity),
	}
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
