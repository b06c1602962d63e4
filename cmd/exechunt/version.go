package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// commit is set at build time with -ldflags "-X main.commit=..." (make build).
var commit string

// versionText is what `exechunt version` and `exechunt --version` print: the
// version (set at build time), the commit it was built from (set at build time,
// else Go's build info: the VCS revision, "+dirty" when the tree had changes;
// else "unknown"), the Go version and the platform.
func versionText() string {
	commit := commit
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			commit = rev + dirty
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("exechunt %s\ncommit: %s\ngo: %s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from and the Go version (as --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText())
			return err
		},
	}
}
