package corpus

import (
	"os"
	"path/filepath"
)

// ReferenceEnv names the variable that overrides the reference folder location.
const ReferenceEnv = "EXECHUNT_REFERENCE"

// ReferenceDir returns the shared reference folder (../shared/reference beside the
// checkout, or $EXECHUNT_REFERENCE; without either, the sibling of the corpus
// directory) and whether it exists.
func ReferenceDir() (string, bool) {
	if d := os.Getenv(ReferenceEnv); d != "" {
		return d, isDir(d)
	}
	c, _ := Dir()
	if c == "" {
		return "", false
	}
	d := filepath.Join(filepath.Dir(filepath.Clean(c)), "reference")
	return d, isDir(d)
}
