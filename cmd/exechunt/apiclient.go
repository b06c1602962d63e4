package main

import (
	"cmp"
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
// EXECHUNT_TOKEN, EXECHUNT_CA_FILE, then a client config file (clientConfigHelp).
type apiFlags struct {
	server, token, caFile, config string
	// serverOnly resolves the server and CA without a token, for commands that
	// speak the agent API (simulate).
	serverOnly bool
}

// clientConfigHelp says where the fleet commands find the orchestrator (root --help).
const clientConfigHelp = `The fleet commands (hosts, query, hunts, anomalies, tokens, ...) find the
orchestrator in their flags (--server, --token, --ca-file), then the environment
(EXECHUNT_SERVER, EXECHUNT_TOKEN, EXECHUNT_CA_FILE), then a client config file, the
first of: --config, $EXECHUNT_CLIENT_CONFIG, ./exechunt-data/client.json and the
user's config folder's exechunt/client.json (~/.config or $XDG_CONFIG_HOME on Linux,
~/Library/Application Support on macOS, %AppData% on Windows). exechunt serve writes
both client.json files (the second unless one written by hand is there), so the CLI
finds the last server started from any folder; enroll-flags and simulate find that
server's data directory the same way.`

func (f *apiFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "orchestrator URL (default $EXECHUNT_SERVER or the client config)")
	fl.StringVar(&f.token, "token", "", "API token (default $EXECHUNT_TOKEN or the client config)")
	fl.StringVar(&f.caFile, "ca-file", "", "CA certificate to trust (default $EXECHUNT_CA_FILE or the client config)")
	fl.StringVar(&f.config, "config", "", "client config file (JSON: server, token or token_file, ca_file); default $EXECHUNT_CLIENT_CONFIG, ./exechunt-data/client.json, then the user config folder's exechunt/client.json")
}

// clientConfigPaths are the client configs tried in order, and whether the first
// was named (by --config or $EXECHUNT_CLIENT_CONFIG: it must exist).
func (f *apiFlags) clientConfigPaths() ([]string, bool) {
	path := cmp.Or(f.config, os.Getenv("EXECHUNT_CLIENT_CONFIG"))
	if path != "" {
		return []string{path}, true
	}
	out := []string{filepath.Join(defaultDataDir, server.ClientConfigFile)}
	if u := userClientConfig(); u != "" {
		out = append(out, u)
	}
	return out, false
}

// noServer says where the orchestrator is looked for.
const noServer = "use --server%s, %s or a client config (--config, $EXECHUNT_CLIENT_CONFIG, ./exechunt-data/client.json " +
	"or the user config folder's exechunt/client.json, which exechunt serve writes; see exechunt --help)"

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
	paths, named := f.clientConfigPaths()
	for _, p := range paths {
		c, err := readClientConfig(p)
		if errors.Is(err, os.ErrNotExist) && !named {
			continue
		}
		if err != nil {
			return "", "", "", fmt.Errorf("client config: %w", err)
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
		return "", "", "", usageError{fmt.Errorf("no server: "+noServer, "", "EXECHUNT_SERVER")}
	}
	if !f.serverOnly && (srv == "" || token == "") {
		return "", "", "", usageError{fmt.Errorf("no server or token: "+noServer, "/--token", "EXECHUNT_SERVER/EXECHUNT_TOKEN")}
	}
	return srv, token, caFile, nil
}

// defaultDataDir is serve's data directory unless --data says otherwise.
const defaultDataDir = "exechunt-data"

// addDataFlag adds --data, the server's data directory, to a command that reads it
// (enroll-flags, simulate); resolve it with dataDir.
func addDataFlag(cmd *cobra.Command, data *string, what string) {
	cmd.Flags().StringVar(data, "data", "", "the server's data directory ("+what+"); default ./exechunt-data, "+
		"else the one named by the user config folder's exechunt/client.json (written by serve)")
}

// dataDir is the data directory a command reads: flag when set, else
// ./exechunt-data when it exists, else the data directory of the server that
// wrote the user's client config, else ./exechunt-data (for the error messages).
func dataDir(flag string) string {
	if flag != "" {
		return flag
	}
	if fileExists(defaultDataDir) {
		return defaultDataDir
	}
	if u := userClientConfig(); u != "" {
		if c, err := readClientConfig(u); err == nil && c.DataDir != "" {
			return c.DataDir
		}
	}
	return defaultDataDir
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

// apiCmd makes cmd an operator-API command: it adds the flags that find the
// orchestrator (--server, --token, --ca-file, --config) and sets RunE to check
// (nil for none), then do with a client (apiFlags.runE).
func apiCmd(cmd *cobra.Command, check func(args []string) error, do func(cmd *cobra.Command, args []string, c *client.Client) error) *cobra.Command {
	var api apiFlags
	cmd.RunE = api.runE(check, do)
	api.add(cmd)
	return cmd
}

// apiFormatCmd is apiCmd for a command that prints in one of formats: it adds
// --format (the first the default), checks it before check (nil for none) and
// gives it to do.
func apiFormatCmd(cmd *cobra.Command, formats []string, check func(args []string) error,
	do func(cmd *cobra.Command, args []string, c *client.Client, format string) error) *cobra.Command {
	var format string
	apiCmd(cmd, func(args []string) error {
		if err := checkFormat(format, formats...); err != nil || check == nil {
			return err
		}
		return check(args)
	}, func(cmd *cobra.Command, args []string, c *client.Client) error { return do(cmd, args, c, format) })
	addFormatFlag(cmd, &format, formats...)
	return cmd
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
