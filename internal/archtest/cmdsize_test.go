package archtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxCmdFileLines bounds a command's source file: cmd/ parses flags and prints;
// anything longer is logic that belongs in a package of its own.
const maxCmdFileLines = 400

// TestCmdFilesStaySmall keeps every non-test Go file under cmd/ within
// maxCmdFileLines.
func TestCmdFilesStaySmall(t *testing.T) {
	files, err := filepath.Glob("../../cmd/*/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cmd files found (%v)", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(b, []byte("\n")); n > maxCmdFileLines {
			t.Errorf("%s has %d lines (at most %d): move its logic into a package", strings.TrimPrefix(f, "../../"), n, maxCmdFileLines)
		}
	}
}
