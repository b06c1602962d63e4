package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/server"
)

// apiFlags locate the orchestrator: flags first, then EXECHUNT_SERVER,
// EXECHUNT_TOKEN, EXECHUNT_CA_FILE, then a client config file (--config,
// $EXECHUNT_CLIENT_CONFIG, ./exechunt-data/client.json as written by `exechunt
// serve`, or the user config dir's exechunt/client.json).
type apiFlags struct {
	server, token, caFile, config string
	// serverOnly resolves the server and CA without a token, for commands that
	// speak the agent API (simulate).
	serverOnly bool
}

func (f *apiFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "orchestrator URL (default $EXECHUNT_SERVER or the client config)")
	fl.StringVar(&f.token, "token", "", "API token (default $EXECHUNT_TOKEN or the client config)")
	fl.StringVar(&f.caFile, "ca-file", "", "CA certificate to trust (default $EXECHUNT_CA_FILE or the client config)")
	fl.StringVar(&f.config, "config", "", "client config file (JSON: server, token or token_file, ca_file)")
}

func (f *apiFlags) resolve() (srv, token, caFile string, err error) {
	srv, token, caFile = f.server, f.token, f.caFile
	pick := func(dst *string, env string) {
		if *dst == "" {
			*dst = os.Getenv(env)
		}
	}
	pick(&srv, "EXECHUNT_SERVER")
	pick(&token, "EXECHUNT_TOKEN")
	pick(&caFile, "EXECHUNT_CA_FILE")
	if srv != "" && (token != "" || f.serverOnly) {
		return srv, token, caFile, nil
	}
	path := f.config
	if path == "" {
		path = os.Getenv("EXECHUNT_CLIENT_CONFIG")
	}
	var candidates []string
	if path != "" {
		candidates = []string{path}
	} else {
		candidates = append(candidates, filepath.Join("exechunt-data", server.ClientConfigFile))
		if d, err := os.UserConfigDir(); err == nil {
			candidates = append(candidates, filepath.Join(d, "exechunt", "client.json"))
		}
	}
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) && f.config == "" {
			continue
		}
		if err != nil {
			return "", "", "", fmt.Errorf("client config: %w", err)
		}
		var c clientConfig
		if err := json.Unmarshal(b, &c); err != nil {
			return "", "", "", fmt.Errorf("client config %s: %w", p, err)
		}
		if srv == "" {
			srv = c.Server
		}
		if caFile == "" {
			caFile = c.CAFile
		}
		if token == "" {
			token = c.Token
			if token == "" && c.TokenFile != "" {
				tb, err := os.ReadFile(c.TokenFile)
				if err != nil {
					return "", "", "", fmt.Errorf("client config %s: token file: %w", p, err)
				}
				token = strings.TrimSpace(string(tb))
			}
		}
		break
	}
	if f.serverOnly && srv == "" {
		return "", "", "", usageError{errors.New("no server: use --server, EXECHUNT_SERVER or a client config (exechunt serve writes exechunt-data/client.json)")}
	}
	if !f.serverOnly && (srv == "" || token == "") {
		return "", "", "", usageError{errors.New("no server or token: use --server/--token, EXECHUNT_SERVER/EXECHUNT_TOKEN or a client config (exechunt serve writes exechunt-data/client.json)")}
	}
	return srv, token, caFile, nil
}

func (f *apiFlags) client() (*client.Client, error) {
	srv, tok, ca, err := f.resolve()
	if err != nil {
		return nil, err
	}
	var pem []byte
	if ca != "" {
		if pem, err = os.ReadFile(ca); err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
	}
	return client.New(srv, tok, pem)
}

// runE is the RunE of an operator-API command: check (nil for none) validates flags
// and arguments first, so a usage error comes before the orchestrator is looked
// for; then do runs with a client.
func (f *apiFlags) runE(check func(args []string) error, do func(cmd *cobra.Command, args []string, c *client.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if check != nil {
			if err := check(args); err != nil {
				return err
			}
		}
		c, err := f.client()
		if err != nil {
			return err
		}
		return do(cmd, args, c)
	}
}

// formatCheck is a runE check that --format is one of allowed.
func formatCheck(format *string, allowed ...string) func([]string) error {
	return func([]string) error { return checkFormat(*format, allowed...) }
}

// idArg is a runE check that the first argument is a positive id, stored in id;
// msg is the usage error's format, given the argument.
func idArg(id *int64, msg string) func([]string) error {
	return func(args []string) error {
		n, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || n <= 0 {
			return usageError{fmt.Errorf(msg, args[0])}
		}
		*id = n
		return nil
	}
}
