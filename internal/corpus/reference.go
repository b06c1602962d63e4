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
	return envOr(ReferenceEnv, func() string {
		if c, _ := Dir(); c != "" {
			return filepath.Dir(filepath.Clean(c))
		}
		return ""
	}, "reference", "")
}

// LOLBASEnv names the variable that overrides the LOLBAS catalog location.
const LOLBASEnv = "EXECHUNT_LOLBAS"

// LOLBASSkipMessage is the message tests give when the LOLBAS catalog is absent.
const LOLBASSkipMessage = "LOLBAS catalog not found: put it at ../shared/reference/lolbas or set EXECHUNT_LOLBAS (CI always has it)"

// LOLBASDir returns the LOLBAS catalog (the folder holding yml/): $EXECHUNT_LOLBAS,
// else lolbas/ in the reference folder, and whether it exists. Like the corpus, it
// is read in place and never copied into this repository.
func LOLBASDir() (string, bool) {
	return envOr(LOLBASEnv, func() string { r, _ := ReferenceDir(); return r }, "lolbas", "yml")
}

// envOr locates a shared folder: $env when set, else sub of the folder parent
// returns (none when that is ""); it reports whether marker, a folder inside
// it ("" for the folder itself), exists.
func envOr(env string, parent func() string, sub, marker string) (string, bool) {
	d := os.Getenv(env)
	if d == "" {
		p := parent()
		if p == "" {
			return "", false
		}
		d = filepath.Join(p, sub)
	}
	return d, isDir(filepath.Join(d, marker))
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
