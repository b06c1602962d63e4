package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
)

func newForwardingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forwarding",
		Short: "Forwarding of anomaly events (serve --forward): the destinations' queues",
		Long: `serve --forward sends anomaly events to webhooks, syslog servers and files through
an outbox in the store (docs/forwarding.md). "forwarding status" shows, per
destination, the items queued (and of those, retrying after a failed try),
delivered and dead-lettered (failed every try), and the age of the oldest queued
item. A destination no longer configured is listed while the store holds its items.`,
		Example: `  exechunt forwarding status
  exechunt forwarding status --format json`,
	}
	cmd.AddCommand(newListCmd("status [flags]", "Show every forwarding destination's queue",
		"DESTINATION\tQUEUED\tRETRYING\tDELIVERED\tDEAD\tOLDEST QUEUED",
		func(ctx context.Context, c *client.Client) ([]apiv1.ForwardingStatus, error) {
			return c.Forwarding(ctx)
		},
		func(w io.Writer, s apiv1.ForwardingStatus) {
			name := termSafe(s.Destination)
			if !s.Configured {
				name += " (not configured)"
			}
			oldest := "-"
			if s.OldestQueued != nil {
				oldest = (time.Duration(s.OldestQueuedAgeSeconds) * time.Second).String() + " ago"
			}
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\n", name, s.Queued, s.Retrying, s.Delivered, s.Dead, oldest)
		}))
	return cmd
}
