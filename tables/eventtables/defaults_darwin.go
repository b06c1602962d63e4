package eventtables

// defaultPaths on macOS: no live source is known (there is no Sysmon for macOS);
// configure paths explicitly.
func defaultPaths() []string { return nil }
