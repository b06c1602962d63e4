package analysis_test

import (
	"context"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidence"
)

// corpusTexts reads every process-creation command line and every 4104 script text of
// the corpus.
func corpusTexts(b *testing.B) (cmdlines []analysis.Process, cmds []string, scripts []string) {
	dir, ok := corpus.Dir()
	if !ok {
		b.Skip(corpus.SkipMessage)
	}
	_, err := evidence.Walk(context.Background(), []string{dir}, evidence.Options{}, func(e *event.Event) error {
		switch {
		case e.ProcessCreation != nil:
			p := e.ProcessCreation
			cmdlines = append(cmdlines, analysis.Process{Image: p.Image, ParentImage: p.ParentImage, ParentCmdline: p.ParentCmdline})
			cmds = append(cmds, p.Cmdline)
		case e.ScriptBlockPart != nil:
			scripts = append(scripts, e.ScriptText)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return cmdlines, cmds, scripts
}

// BenchmarkCorpusCommandLines: analysis throughput over every process creation of the
// corpus (command lines/s).
func BenchmarkCorpusCommandLines(b *testing.B) {
	ctxs, cmds, _ := corpusTexts(b)
	a := analysis.New()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, c := range cmds {
			a.AnalyzeCommandLine(c, ctxs[j])
		}
	}
	b.ReportMetric(float64(len(cmds)*b.N)/b.Elapsed().Seconds(), "cmdlines/s")
}

// BenchmarkCorpusScripts: analysis throughput over every 4104 script text of the
// corpus (MB/s).
func BenchmarkCorpusScripts(b *testing.B) {
	_, _, scripts := corpusTexts(b)
	var n int64
	for _, s := range scripts {
		n += int64(len(s))
	}
	a := analysis.New()
	b.SetBytes(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, s := range scripts {
			a.AnalyzeScript(s, analysis.Script{})
		}
	}
	b.ReportMetric(float64(len(scripts)), "scripts")
}
