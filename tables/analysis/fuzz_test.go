package analysis

import "testing"

func seedFixtures(f *testing.F, kind string) {
	for _, c := range loadCases(f) {
		if c.kind == kind {
			f.Add(c.text)
		}
	}
}

// FuzzAnalyzeCommandLine: no panic (a recovered one shows as analysis_error)
// and every bound holds, on any command line.
func FuzzAnalyzeCommandLine(f *testing.F) {
	seedFixtures(f, "cmdline")
	f.Fuzz(func(t *testing.T, s string) {
		r := AnalyzeCommandLine(s, Process{ParentImage: `C:\Windows\System32\cmd.exe`})
		if contains(r.Indicators, tagAnalysisError) {
			t.Fatalf("panic recovered on %q", s)
		}
		checkBounds(t, r)
	})
}

// FuzzAnalyzeScript: the same for script blocks.
func FuzzAnalyzeScript(f *testing.F) {
	seedFixtures(f, "script")
	f.Fuzz(func(t *testing.T, s string) {
		r := AnalyzeScript(s, Script{})
		if contains(r.Indicators, tagAnalysisError) {
			t.Fatalf("panic recovered on %q", s)
		}
		checkBounds(t, r)
	})
}
