package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/exechunt/exechunt/orchestrator/server"
)

// The client config file (client.json): how the CLI finds the orchestrator, its
// CA and a token. serve writes it; every fleet command reads it.

// clientConfig is what the CLI reads to reach the API: serve writes it into its data
// directory and the user's config folder, the fleet commands read it (apiclient.go).
type clientConfig struct {
	Server    string `json:"server"`
	CAFile    string `json:"ca_file,omitempty"`
	TokenFile string `json:"token_file,omitempty"`
	Token     string `json:"token,omitempty"`
	// DataDir is the data directory of the serve that wrote the file; a file
	// without it was written by hand.
	DataDir string `json:"data_dir,omitempty"`
	// EnrollServer is the server's URL as hosts reach it (serve's first
	// --tls-san name), enroll-flags' default --server; Server is the CLI's.
	EnrollServer string `json:"enroll_server,omitempty"`
}

// publishClientConfig writes c into the user's config folder too, so that the CLI
// finds this server from any folder, and returns its path. A client config there
// that serve did not write (no data_dir) is the user's own and is left alone: the
// path is "" and note says so for the banner.
func publishClientConfig(c clientConfig, log *slog.Logger) (path, note string) {
	path = userClientConfig()
	if path == "" {
		return "", ""
	}
	if old, err := readClientConfig(path); err == nil && old.DataDir == "" || err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Sprintf("\n  (%s is not serve's: left alone, so from other folders the CLI reads it)", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		log.Info("client config not written to the user config folder", "path", path, "err", err)
		return "", ""
	}
	if err := writeClientConfig(path, c); err != nil {
		log.Info("client config not written to the user config folder", "path", path, "err", err)
		return "", ""
	}
	return path, ""
}

// absPath is p made absolute ("" stays ""), so that client.json works from any folder.
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func writeClientConfig(path string, c clientConfig) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// userClientConfig is the client config in the user's config folder, which serve
// writes so that the CLI finds the server from any folder ("" when the user has
// no config folder).
func userClientConfig() string {
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "exechunt", server.ClientConfigFile)
}

// readClientConfig reads a client config file.
func readClientConfig(path string) (clientConfig, error) {
	var c clientConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("client config %s: %w", path, err)
	}
	return c, nil
}
