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

// LOLBASEnv names the variable that overrides the LOLBAS catalog location.
const LOLBASEnv = "EXECHUNT_LOLBAS"

// LOLBASSkipMessage is the message tests give when the LOLBAS catalog is absent.
const LOLBASSkipMessage = "LOLBAS catalog not found: put it at ../shared/reference/lolbas or set EXECHUNT_LOLBAS (CI always has it)"

// LOLBASDir returns the LOLBAS catalog (the folder holding yml/): $EXECHUNT_LOLBAS,
// else lolbas/ in the reference folder, and whether it exists. Like the corpus, it
// is read in place and never copied into this repository.
func LOLBASDir() (string, bool) {
	if d := os.Getenv(LOLBASEnv); d != "" {
		return d, isDir(filepath.Join(d, "yml"))
	}
	r, _ := ReferenceDir()
	if r == "" {
		return "", false
	}
	d := filepath.Join(r, "lolbas")
	return d, isDir(filepath.Join(d, "yml"))
}

// ReferenceSkipMessage is the message tests give when the reference folder is absent.
const ReferenceSkipMessage = "reference folder not found: put it at ../shared/reference or set " + ReferenceEnv

// SigmaTB is the part of testing.TB the Sigma helpers use.
type SigmaTB interface {
	Helper()
	Skip(args ...any)
}

// SigmaRules returns the corpus directory and the SigmaHQ rule folder of the
// reference (../shared/reference/sigma), skipping tb with a message when either is
// absent.
func SigmaRules(tb SigmaTB) (corpusDir, rules string) {
	tb.Helper()
	dir, ok := Dir()
	if !ok {
		tb.Skip(SkipMessage)
	}
	ref, ok := ReferenceDir()
	if !ok {
		tb.Skip(ReferenceSkipMessage)
	}
	return dir, filepath.Join(ref, "sigma")
}
