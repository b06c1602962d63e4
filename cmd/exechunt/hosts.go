package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
)

func newHostsCmd() *cobra.Command {
	var platform string
	var seen time.Duration
	cmd := newListCmd("hosts [flags]", "List the hosts enrolled to the orchestrator", "ID\tHOSTNAME\tPLATFORM\tOS\tOSQUERY\tLAST SEEN",
		func(ctx context.Context, c *client.Client) ([]apiv1.Host, error) {
			f := client.HostFilter{SeenWithin: seen}
			if platform != "" {
				f.Platforms = strings.Split(platform, ",")
			}
			return c.Hosts(ctx, f)
		},
		func(w io.Writer, h apiv1.Host) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s ago\n", h.ID, termSafe(h.Hostname), termSafe(h.Platform),
				termSafe(strings.TrimSpace(h.OSName+" "+h.OSVersion)), termSafe(h.OsqueryVersion), time.Since(h.LastSeen).Round(time.Second))
		})
	cmd.Example = `  exechunt hosts
  exechunt hosts --platform windows --seen-within 10m --format json`
	cmd.Flags().StringVar(&platform, "platform", "", "only these platforms (windows,linux,darwin)")
	cmd.Flags().DurationVar(&seen, "seen-within", 0, "only hosts seen within this duration")
	return cmd
}
