package eventtables

// DefaultPaths are the live sources read when no paths are configured (see
// defaultPaths in the platform files).
func DefaultPaths() []string { return defaultPaths() }
