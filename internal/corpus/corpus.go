// Package corpus locates the shared corpus of real public event logs that tests and
// evaluations read (../shared/corpus beside the checkout, or $EXECHUNT_CORPUS). The
// corpus is never copied into this repository; tests skip with a message without it.
package corpus

import (
	"os"
	"path/filepath"
	"runtime"
)

// Env names the variable that overrides the corpus location.
const Env = "EXECHUNT_CORPUS"

// Dir returns the corpus directory and whether it exists.
func Dir() (string, bool) {
	if d := os.Getenv(Env); d != "" {
		return d, isDir(d)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", false
	}
	// internal/corpus/corpus.go → repository root → ../shared/corpus
	d := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
	return filepath.Clean(d), isDir(d)
}

// SkipMessage is the message tests give when the corpus is absent.
const SkipMessage = "corpus not found: put the shared corpus at ../shared/corpus or set EXECHUNT_CORPUS (CI always has it)"

func isDir(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}
