package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/client"
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want table or json", format)}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			f := client.HostFilter{SeenWithin: seen}
			if platform != "" {
				f.Platforms = strings.Split(platform, ",")
			}
			hs, err := c.Hosts(cmd.Context(), f)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(hs)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tHOSTNAME\tPLATFORM\tOS\tOSQUERY\tLAST SEEN")
			now := time.Now()
			for _, h := range hs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s ago\n", h.ID, termSafe(h.Hostname), termSafe(h.Platform),
					termSafe(strings.TrimSpace(h.OSName+" "+h.OSVersion)), termSafe(h.OsqueryVersion), now.Sub(h.LastSeen).Round(time.Second))
			}
			return tw.Flush()
		},
	}
	api.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVar(&platform, "platform", "", "only these platforms (windows,linux,darwin)")
	cmd.Flags().DurationVar(&seen, "seen-within", 0, "only hosts seen within this duration")
	return cmd
}
