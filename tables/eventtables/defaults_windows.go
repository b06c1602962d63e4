package eventtables

import (
	"os"
	"path/filepath"
)

// defaultPaths on Windows: the live channel files of Sysmon, Security and PowerShell
// Operational, read as EVTX (the reader stops at the size a file had when it began).
func defaultPaths() []string {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	logs := filepath.Join(root, "System32", "winevt", "Logs")
	return []string{
		filepath.Join(logs, "Microsoft-Windows-Sysmon%4Operational.evtx"),
		filepath.Join(logs, "Security.evtx"),
		filepath.Join(logs, "Microsoft-Windows-PowerShell%4Operational.evtx"),
	}
}
