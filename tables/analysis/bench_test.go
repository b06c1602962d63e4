package analysis

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchSet is the realistic mixed set: every fixture command line and script,
// plus the decoding inputs.
func benchSet(b *testing.B) (cmdlines []fixtureCase, scripts []string) {
	b.Helper()
	for _, c := range loadCases(b) {
		if c.kind == "script" {
			scripts = append(scripts, c.text)
		} else {
			cmdlines = append(cmdlines, c)
		}
	}
	inputs, _ := filepath.Glob(filepath.Join(filepath.FromSlash(decodeDir), "*.ps1"))
	for _, in := range inputs {
		raw, err := os.ReadFile(in)
		if err != nil {
			b.Fatal(err)
		}
		scripts = append(scripts, strings.TrimSpace(string(raw)))
	}
	return cmdlines, scripts
}

// BenchmarkCommandLines reports command lines analysed per second.
func BenchmarkCommandLines(b *testing.B) {
	cmdlines, _ := benchSet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range cmdlines {
			AnalyzeCommandLine(c.text, c.proc)
		}
	}
	b.ReportMetric(float64(b.N*len(cmdlines))/b.Elapsed().Seconds(), "cmdlines/s")
}

// BenchmarkScripts reports script throughput (MB/s via SetBytes).
func BenchmarkScripts(b *testing.B) {
	_, scripts := benchSet(b)
	n := 0
	for _, s := range scripts {
		n += len(s)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, s := range scripts {
			AnalyzeScript(s, Script{})
		}
	}
}

// BenchmarkHostile reports the cost of one worst-case input (ns/op); each must
// stay well under 100 ms.
func BenchmarkHostile(b *testing.B) {
	for _, c := range hostileInputs(b) {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				analyzeHostile(c)
			}
		})
	}
}
