package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

func init() { subcommands = append(subcommands, newTokensCmd) }

func newTokensCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Manage operator API tokens (admin): list, create, revoke",
		Long: `API tokens carry a role: viewer (read), hunter (live queries, triage, run hunts) or
admin (packs, hunts, tokens, enroll secrets). The server keeps only their SHA-256
hashes: a new token is shown once, by "tokens create". Every change is audited.`,
		Example: `  exechunt tokens list
  exechunt tokens create --name alice --role hunter --expires 720h
  exechunt tokens revoke 3`,
	}
	cmd.AddCommand(newTokensListCmd(), newTokensCreateCmd(), newTokensRevokeCmd())
	return cmd
}

func newTokensListCmd() *cobra.Command {
	var api apiFlags
	var format string
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List API tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want table or json", format)}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			ts, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(ts)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tEXPIRES\tSTATE")
			for _, t := range ts {
				exp, state := "never", "valid"
				if t.ExpiresAt != nil {
					exp = t.ExpiresAt.Format(time.RFC3339)
				}
				switch {
				case t.RevokedAt != nil:
					state = "revoked " + t.RevokedAt.Format(time.RFC3339)
				case !t.Valid:
					state = "expired"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.Format(time.RFC3339), exp, state)
			}
			return tw.Flush()
		},
	}
	api.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func newTokensCreateCmd() *cobra.Command {
	var api apiFlags
	var name, role string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "create --name NAME --role viewer|hunter|admin [--expires 720h]",
		Short: "Create an API token and print it (the only time it is shown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !apiv1.ValidRole(role) {
				return usageError{fmt.Errorf("--role %q: want viewer, hunter or admin", role)}
			}
			if name == "" {
				return usageError{fmt.Errorf("--name is required")}
			}
			if expires < 0 {
				return usageError{fmt.Errorf("--expires %s: must be positive", expires)}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			req := apiv1.CreateTokenRequest{Name: name, Role: role}
			if expires > 0 {
				req.ExpiresIn = expires.String()
			}
			ct, err := c.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			exp := "never"
			if ct.Token.ExpiresAt != nil {
				exp = ct.Token.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "token %d %q (%s), expires %s; store it now, it is not shown again:\n",
				ct.Token.ID, ct.Token.Name, ct.Token.Role, exp)
			fmt.Fprintln(cmd.OutOrStdout(), ct.Secret)
			return nil
		},
	}
	api.add(cmd)
	cmd.Flags().StringVar(&name, "name", "", "who or what the token is for (letters, digits, - _ . @)")
	cmd.Flags().StringVar(&role, "role", apiv1.RoleViewer, "viewer, hunter or admin")
	cmd.Flags().DurationVar(&expires, "expires", 0, "lifetime (e.g. 720h); 0: never expires")
	return cmd
}

func newTokensRevokeCmd() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token (at once, for the API and web UI sessions' next request)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("token ID %q: want a positive number (see exechunt tokens list)", args[0])}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			t, err := c.RevokeToken(cmd.Context(), id)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %d %q (%s)\n", t.ID, t.Name, t.Role)
			return nil
		},
	}
	api.add(cmd)
	return cmd
}
