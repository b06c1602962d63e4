// Command exechunt is the exechunt CLI: offline evidence reading and analysis today,
// the orchestrator and fleet commands as they land (see README.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks errors caused by bad flags or arguments (exit status 2).
type usageError struct{ error }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "exechunt",
		Short: "Hunt the ATT&CK Execution tactic across osquery hosts and offline evidence",
		Long: `exechunt hunts the ATT&CK Execution tactic across osquery hosts (serve, the fleet
commands) and in offline evidence (events, scan, sql). See README.md.

` + clientConfigHelp + `

Environment:
  EXECHUNT_SERVER          orchestrator URL of the fleet commands, enroll-flags and simulate (as --server)
  EXECHUNT_TOKEN           API token of the fleet commands (as --token)
  EXECHUNT_CA_FILE         certificate the fleet commands and simulate trust (as --ca-file)
  EXECHUNT_CLIENT_CONFIG   client config file (as --config)
  EXECHUNT_ENROLL_SECRET   serve: the first enroll secret; enroll-flags, simulate: the secret hosts present
  EXECHUNT_ADMIN_TOKEN     serve: the first admin API token
  EXECHUNT_CORPUS          tests only: the shared corpus of real logs (default ../shared/corpus)`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.SetVersionTemplate(versionText()) // one text for --version and the version command
	root.SetErrPrefix("exechunt: error:")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// subcommands are the constructors of exechunt's subcommands, listed in one place
// (each command keeps its own file); help lists them sorted by name.
var subcommands = []func() *cobra.Command{
	// Offline: evidence files, no server.
	newScanCmd, newSQLCmd, newEventsCmd, newAnalyzeCmd, newSigmaCmd, newPacksCmd,
	// The orchestrator and what talks to it.
	newServeCmd, newSimulateCmd, newEnrollFlagsCmd, newHostsCmd, newQueryCmd, newHuntsCmd, newRunsCmd,
	newAnomaliesCmd, newStacksCmd, newTriageCmd, newSuppressionsCmd, newForwardingCmd, newTokensCmd,
	newVersionCmd,
}
