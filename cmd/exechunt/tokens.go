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
	return newListCmd("list [flags]", "List API tokens (never their secrets)", "ID\tNAME\tROLE\tCREATED\tEXPIRES\tSTATE",
		func(ctx context.Context, c *client.Client) ([]apiv1.Token, error) { return c.Tokens(ctx) },
		func(w io.Writer, t apiv1.Token) {
			state := "valid"
			switch {
			case t.RevokedAt != nil:
				state = "revoked " + t.RevokedAt.Format(time.RFC3339)
			case !t.Valid:
				state = "expired"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.Format(time.RFC3339), expires(t.ExpiresAt), state)
		})
}

// expires renders a token's expiry time, "never" without one.
func expires(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func newTokensCreateCmd() *cobra.Command {
	var name, role string
	var lifetime time.Duration
	check := func([]string) error {
		switch {
		case !apiv1.ValidRole(role):
			return usageError{fmt.Errorf("--role %q: want viewer, hunter or admin", role)}
		case name == "":
			return usageError{fmt.Errorf("--name is required")}
		case lifetime < 0:
			return usageError{fmt.Errorf("--expires %s: must be positive", lifetime)}
		}
		return nil
	}
	cmd := apiCmd(&cobra.Command{
		Use:   "create --name NAME --role viewer|hunter|admin [--expires 720h]",
		Short: "Create an API token and print it (the only time it is shown)",
		Args:  cobra.NoArgs,
	}, check, func(cmd *cobra.Command, _ []string, c *client.Client) error {
		req := apiv1.CreateTokenRequest{Name: name, Role: role}
		if lifetime > 0 {
			req.ExpiresIn = lifetime.String()
		}
		ct, err := c.CreateToken(cmd.Context(), req)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "token %d %q (%s), expires %s; store it now, it is not shown again:\n",
			ct.Token.ID, ct.Token.Name, ct.Token.Role, expires(ct.Token.ExpiresAt))
		fmt.Fprintln(cmd.OutOrStdout(), ct.Secret)
		return nil
	})
	cmd.Flags().StringVar(&name, "name", "", "who or what the token is for (letters, digits, - _ . @)")
	cmd.Flags().StringVar(&role, "role", "viewer", "viewer, hunter or admin")
	cmd.Flags().DurationVar(&lifetime, "expires", 0, "lifetime (e.g. 720h); 0: never expires")
	return cmd
}

func newTokensRevokeCmd() *cobra.Command {
	var id int64
	cmd := apiCmd(&cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token (at once, for the API and web UI sessions' next request)",
		Args:  cobra.ExactArgs(1),
	}, idArg(&id, "token ID %q: want a positive number (see exechunt tokens list)"), func(cmd *cobra.Command, _ []string, c *client.Client) error {
		t, err := c.RevokeToken(cmd.Context(), id)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "revoked token %d %q (%s)\n", t.ID, t.Name, t.Role)
		return nil
	})
	return cmd
}
