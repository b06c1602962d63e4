package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/client"
)

// addFormatFlag adds --format to cmd: one of allowed, the first the default.
// tableOrJSON are the formats of most fleet commands (printList).
var tableOrJSON = []string{"table", "json"}

func addFormatFlag(cmd *cobra.Command, format *string, allowed ...string) {
	cmd.Flags().StringVar(format, "format", allowed[0], "output format: "+orList(allowed))
}

// checkFormat refuses a --format that is not one of allowed (a usage error).
func checkFormat(format string, allowed ...string) error {
	if !slices.Contains(allowed, format) {
		return usageError{fmt.Errorf("--format %q: want %s", format, orList(allowed))}
	}
	return nil
}

// orList renders "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printList prints what a list command fetched: indented JSON with --format json,
// else a table with the header's tab-separated columns and one line per item.
func printList[T any](w io.Writer, format string, items []T, header string, line func(io.Writer, T)) error {
	if format == "json" {
		if items == nil {
			items = []T{}
		}
		return printJSON(w, items)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		line(tw, it)
	}
	return tw.Flush()
}

// orDash prints an empty field as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// newListCmd is an operator-API command that fetches a list and prints it as a
// table (header's tab-separated columns, one line per item) or JSON (--format).
// The caller adds its own flags, examples and subcommands to what it returns.
func newListCmd[T any](use, short, header string, fetch func(context.Context, *client.Client) ([]T, error), line func(io.Writer, T)) *cobra.Command {
	return apiFormatCmd(&cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
	}, tableOrJSON, nil, func(cmd *cobra.Command, _ []string, c *client.Client, format string) error {
		items, err := fetch(cmd.Context(), c)
		if err != nil {
			return err
		}
		return printList(cmd.OutOrStdout(), format, items, header, line)
	})
}

// countStates are the states of a host's answer, in the order countWords names
// them (other states follow by name).
var countStates = []string{"ok", "no-rows", "error", "offline", "sent", "pending"}

// countWords renders per-state host counts as "ok 3, no-rows 4" (none: "-").
func countWords(counts map[string]int) string {
	var parts []string
	for _, st := range countStates {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", st, n))
		}
	}
	for _, st := range slices.Sorted(maps.Keys(counts)) {
		if n := counts[st]; n > 0 && !slices.Contains(countStates, st) {
			parts = append(parts, fmt.Sprintf("%s %d", termSafe(st), n))
		}
	}
	return orDash(strings.Join(parts, ", "))
}
