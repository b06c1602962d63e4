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

// TestLowerOffsets: indexes found in a lower-cased copy slice the original; with
// strings.ToLower an invalid UTF-8 byte shifted them and a command line like this
// one panicked (found by FuzzAnalyzeCommandLine).
func TestLowerOffsets(t *testing.T) {
	for _, s := range []string{"\xf4\xca\xfa\xa5\x87 powershell", "\xff\xfe wmic PROCESS CALL CREATE \xff calc.exe", "ABC\xffdef"} {
		if l := asciiLower(s); len(l) != len(s) {
			t.Errorf("%q: %d bytes lower-cased to %d", s, len(s), len(l))
		}
		if r := AnalyzeCommandLine(s, Process{ParentImage: `C:\Windows\System32\cmd.exe`}); contains(r.Indicators, tagAnalysisError) {
			t.Errorf("panic recovered on %q", s)
		}
	}
	if got := asciiLower("PowerShell.EXE -Enc"); got != "powershell.exe -enc" {
		t.Errorf("asciiLower = %q", got)
	}
}
