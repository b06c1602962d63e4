package config

import (
	"os"
	"path/filepath"
)

func programData() string {
	if d := os.Getenv("ProgramData"); d != "" {
		return d
	}
	return `C:\ProgramData`
}

// DefaultPath is the configuration file read when $EXECHUNT_CONFIG is not set:
// %ProgramData%\exechunt\extension.yaml (C:\ProgramData\exechunt\extension.yaml).
func DefaultPath() string { return filepath.Join(programData(), "exechunt", "extension.yaml") }

// DefaultStateDir is where read positions are kept when state_dir is not set.
func DefaultStateDir() string { return filepath.Join(programData(), "exechunt", "state") }
