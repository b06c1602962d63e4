//go:build !windows && !darwin

package config

// DefaultPath is the configuration file read when $EXECHUNT_CONFIG is not set.
func DefaultPath() string { return "/etc/exechunt/extension.yaml" }

// DefaultStateDir is where read positions are kept when state_dir is not set.
func DefaultStateDir() string { return "/var/lib/exechunt" }
