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
		Use:           "exechunt",
		Short:         "Hunt the ATT&CK Execution tactic across osquery hosts and offline evidence",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.SetErrPrefix("exechunt: error:")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// subcommands holds the constructors of exechunt's subcommands; each command's file
// registers itself in an init function so commands stay in their own files.
var subcommands []func() *cobra.Command
