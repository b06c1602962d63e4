package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
)

func init() { subcommands = append(subcommands, newHostsCmd) }

func newHostsCmd() *cobra.Command {
	var api apiFlags
	var format, platform string
	var seen time.Duration
	cmd := &cobra.Command{
		Use:   "hosts [flags]",
		Short: "List the hosts enrolled to the orchestrator",
		Example: `  exechunt hosts
  exechunt hosts --platform windows --seen-within 10m --format json`,
		Args: cobra.NoArgs,
		RunE: api.runE(formatCheck(&format, "table", "json"), func(cmd *cobra.Command, _ []string, c *client.Client) error {
			f := client.HostFilter{SeenWithin: seen}
			if platform != "" {
				f.Platforms = strings.Split(platform, ",")
			}
			hs, err := c.Hosts(cmd.Context(), f)
			if err != nil {
				return err
			}
			now := time.Now()
			return printList(cmd.OutOrStdout(), format, hs, "ID\tHOSTNAME\tPLATFORM\tOS\tOSQUERY\tLAST SEEN", func(w io.Writer, h operatorapi.Host) {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s ago\n", h.ID, termSafe(h.Hostname), termSafe(h.Platform),
					termSafe(strings.TrimSpace(h.OSName+" "+h.OSVersion)), termSafe(h.OsqueryVersion), now.Sub(h.LastSeen).Round(time.Second))
			})
		}),
	}
	api.add(cmd)
	addFormatFlag(cmd, &format, "table", "json")
	cmd.Flags().StringVar(&platform, "platform", "", "only these platforms (windows,linux,darwin)")
	cmd.Flags().DurationVar(&seen, "seen-within", 0, "only hosts seen within this duration")
	return cmd
}
