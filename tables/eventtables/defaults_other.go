//go:build !linux && !windows && !darwin

package eventtables

// defaultPaths on other systems: none; configure paths explicitly.
func defaultPaths() []string { return nil }
