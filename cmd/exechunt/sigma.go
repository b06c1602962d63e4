package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/sigmapack"
)

func newSigmaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sigma",
		Short: "Use Sigma rules as exechunt hunts",
	}
	cmd.AddCommand(newSigmaConvertCmd())
	return cmd
}

type sigmaConvertFlags struct {
	out    string
	format string
	strict bool
}

func newSigmaConvertCmd() *cobra.Command {
	var f sigmaConvertFlags
	cmd := &cobra.Command{
		Use:   "convert [--out DIR] [--format text|json] RULE.yml|DIR...",
		Short: "Convert Sigma rules into exechunt packs",
		Long: `Converts Sigma rules (files, or folders read recursively for *.yml and *.yaml) with
logsource category process_creation (windows, linux) or ps_script (windows) into pack
queries over process_creation_events and powershell_script_blocks. The SQL runs the same
under osqueryd and in the offline engine (exechunt scan --packs-dir DIR).

With --out, the packs are written to DIR, one per logsource (sigma-process-creation-windows.json,
sigma-process-creation-linux.json, sigma-ps-script.json); without it, the converted
queries are printed. Either way every rule that was not converted is listed with the
reason, then a summary.

Exit status: 0 when the conversion ran (rules that cannot be expressed are listed, not
errors), 1 with --strict when a rule was not converted, 2 on an error.`,
		Example: `  exechunt sigma convert --out ./sigma-packs ./sigma/rules/windows/process_creation
  exechunt scan --packs-dir ./sigma-packs --pack sigma-process-creation-windows ./evidence
  exechunt sigma convert --format json rule.yml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.format != "text" && f.format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", f.format)}
			}
			res, err := sigma.ConvertPaths(args...)
			if err != nil {
				return usageError{err}
			}
			var written []string
			if f.out != "" {
				if written, err = sigmapack.Write(res, f.out); err != nil {
					return usageError{err}
				}
			}
			if err := writeSigmaReport(cmd.OutOrStdout(), res, f, written); err != nil {
				return err
			}
			if f.strict && len(res.Skipped) > 0 {
				cmd.SilenceErrors = true
				return errFindings
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "write the packs to this folder")
	fl.StringVar(&f.format, "format", "text", "report format: text or json")
	fl.BoolVar(&f.strict, "strict", false, "exit 1 when a rule was not converted")
	return cmd
}

func writeSigmaReport(w io.Writer, res *sigma.Result, f sigmaConvertFlags, written []string) error {
	sum := res.Summary()
	if f.format == "json" {
		type conv struct {
			Name        string   `json:"name"`
			Pack        string   `json:"pack"`
			RuleID      string   `json:"id"`
			Title       string   `json:"title"`
			File        string   `json:"file"`
			Technique   string   `json:"technique,omitempty"`
			Severity    string   `json:"severity,omitempty"`
			Status      string   `json:"status,omitempty"`
			SQL         string   `json:"query"`
			Description string   `json:"description"`
			Notes       []string `json:"notes,omitempty"`
		}
		out := struct {
			Summary   sigma.Summary   `json:"summary"`
			Written   []string        `json:"written,omitempty"`
			Converted []conv          `json:"converted"`
			Skipped   []sigma.Skipped `json:"skipped"`
		}{Summary: sum, Written: written, Converted: []conv{}, Skipped: res.Skipped}
		if out.Skipped == nil {
			out.Skipped = []sigma.Skipped{}
		}
		for _, q := range res.Queries {
			out.Converted = append(out.Converted, conv{q.Name, q.Pack, q.RuleID, q.Title, q.File, q.Technique, q.Severity, q.Status, q.SQL, q.Description, q.Notes})
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if f.out == "" {
		for _, q := range res.Queries {
			fmt.Fprintf(tw, "-- %s/%s  %s  %s  %s\n%s\n", q.Pack, q.Name, orDash(q.Technique), orDash(q.Severity), q.Title, q.SQL)
			for _, n := range q.Notes {
				fmt.Fprintf(tw, "-- note: %s\n", n)
			}
		}
	}
	for _, k := range res.Skipped {
		kind := "invalid"
		if k.Unsupported {
			kind = "unsupported"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", kind, k.File, k.Reason)
	}
	for _, q := range res.Queries {
		for _, n := range q.Notes {
			if f.out != "" {
				fmt.Fprintf(tw, "note\t%s\t%s\n", q.File, n)
			}
		}
	}
	for _, p := range written {
		fmt.Fprintf(tw, "wrote\t%s\t\n", p)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "sigma: %s\n", sum)
	return err
}

// sigmaPacks converts the Sigma rules in paths into packs (scan --sigma, serve
// --sigma); the Result names the rules that were not converted, for the caller to
// report its own way.
func sigmaPacks(paths []string) ([]packs.Pack, *sigma.Result, error) {
	res, err := sigma.ConvertPaths(paths...)
	if err != nil {
		return nil, nil, fmt.Errorf("--sigma: %w", err)
	}
	out, err := sigmapack.Build(res)
	if err != nil {
		return nil, nil, fmt.Errorf("--sigma: %w", err)
	}
	return out, res, nil
}
