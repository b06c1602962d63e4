package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// addFormatFlag adds --format to cmd: one of allowed, the first the default.
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
