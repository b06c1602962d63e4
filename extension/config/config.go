// Package config reads the extension's settings. osqueryd passes an autoloaded
// extension only --socket, --timeout, --interval and --verbose, so everything else
// comes from a YAML file: the one named by $EXECHUNT_CONFIG, or else the platform's
// default path (DefaultPath). The extension works with no file at all: a missing
// default file means the defaults (Default), while a missing file that
// EXECHUNT_CONFIG names, a file that is not valid YAML, an unknown key or an invalid
// value is an error naming the file and line. The schema is in
// docs/extension-config.md.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvVar names the environment variable that overrides DefaultPath.
const EnvVar = "EXECHUNT_CONFIG"

// MaxCharacterFrequencies is the most weights character_frequencies may hold
// (osquery's feature_vectors.character_frequencies takes at most 256).
const MaxCharacterFrequencies = 256

// Config is the extension's settings.
type Config struct {
	// Sources are the evidence files, folders or globs read by the event tables;
	// empty means the platform's live defaults.
	Sources []Source `yaml:"sources"`
	// Audit chooses the Linux audit source of process_creation_events: auto (the
	// kernel's audit multicast group when the extension may read it, else
	// /var/log/audit/audit.log), multicast, log or off. Unset, it is auto without
	// sources (the live defaults) and off with them.
	Audit string `yaml:"audit"`
	// AuditRules lists audit rules the extension installs when it starts reading:
	// only "execve" (every execve and execveat). Without it the extension never
	// changes the kernel's audit rules.
	AuditRules []string `yaml:"audit_rules"`
	// CacheMB is the extension's memory budget in MiB (default 64): the tables'
	// caches take a little over half of it, the rest is left for query work and the
	// program itself, so the process's peak RSS stays within it.
	CacheMB int `yaml:"cache_mb"`
	// MemoryLimitMB is the extension's Go soft memory limit in MiB
	// (debug.SetMemoryLimit); 0 turns it off. Unset, it is DefaultMemoryLimitMB(CacheMB).
	MemoryLimitMB int `yaml:"memory_limit_mb"`
	// GenerateTimeout bounds one generate call of a table (default 4m).
	GenerateTimeout time.Duration `yaml:"generate_timeout"`
	// StateDir is where read positions are kept (default DefaultStateDir()).
	StateDir string `yaml:"state_dir"`
	// CharacterFrequencies is the cosine_similarity reference vector (weights
	// indexed by byte value); empty means the built-in default.
	CharacterFrequencies []float64 `yaml:"character_frequencies"`
	// LogLevel is debug, info, warn or error (default info).
	LogLevel string `yaml:"log_level"`
	// Plugins are hunt-table plugins to start (docs/plugins.md).
	Plugins []Plugin `yaml:"plugins"`
	// PluginDir, when set, also starts every plugin listed in PluginChecksums, a
	// sha256sum-format file of plain file names in PluginDir (default
	// <plugin_dir>/SHA256SUMS).
	PluginDir       string `yaml:"plugin_dir"`
	PluginChecksums string `yaml:"plugin_checksums"`
	// SigmaRules is an absolute path: a folder of Sigma rules (read recursively for
	// *.yml and *.yaml) or one rule file, evaluated by sigma_matches and read again
	// on SIGHUP; empty means sigma_matches is not served.
	SigmaRules string `yaml:"sigma_rules"`

	// File is the file the settings were read from; "" when they are the defaults.
	File string `yaml:"-"`
}

// Source is one evidence location: a file, a folder or a glob.
type Source struct {
	Path string `yaml:"path"`
}

// Plugin is one hunt-table plugin executable.
type Plugin struct {
	Path   string `yaml:"path"`   // absolute
	SHA256 string `yaml:"sha256"` // 64 hex digits; the plugin is not started when its file differs
	// Timeout bounds one call of the plugin's tables (default generate_timeout).
	Timeout time.Duration `yaml:"timeout"`
}

// CodeMB is about how much of the extension's resident memory is its own code and
// read-only data mapped from the executable (13 MiB measured on linux/amd64), which
// the Go memory limit does not count.
const CodeMB = 14

// DefaultMemoryLimitMB is the Go memory limit that keeps the process's resident
// memory within cacheMB: the budget less the program's code, and at least three
// quarters of the budget.
func DefaultMemoryLimitMB(cacheMB int) int { return max(cacheMB-CodeMB, cacheMB*3/4) }

// Default returns the settings used when there is no configuration file.
func Default() Config {
	return Config{
		Audit:           "auto",
		CacheMB:         64,
		MemoryLimitMB:   DefaultMemoryLimitMB(64),
		GenerateTimeout: 4 * time.Minute,
		StateDir:        DefaultStateDir(),
		LogLevel:        "info",
	}
}

// Load reads the file named by $EXECHUNT_CONFIG, or else DefaultPath(); a missing
// default file yields Default().
func Load() (Config, error) {
	return load(os.Getenv(EnvVar), DefaultPath())
}

func load(explicit, defaultPath string) (Config, error) {
	if explicit != "" {
		return Read(explicit)
	}
	c, err := Read(defaultPath)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	return c, err
}

// Read reads and validates the configuration file at path. A missing file is an
// error that wraps fs.ErrNotExist.
func Read(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("extension config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration document; name (the file name) is
// used in error messages, which read "name:line: problem". An empty document yields
// Default().
func Parse(name string, data []byte) (Config, error) {
	c := Default()
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			c.File = name
			return c, nil
		}
		return Config{}, yamlError(name, err)
	}
	if err := checkUnique(name, &root); err != nil {
		return Config{}, err
	}
	// Decode again with KnownFields: yaml.Node.Decode does not check unknown keys.
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s:%d: only one YAML document is allowed", name, extra.Line)
	}
	c.File = name
	if !hasKey(&root, "memory_limit_mb") {
		c.MemoryLimitMB = DefaultMemoryLimitMB(c.CacheMB)
	}
	if !hasKey(&root, "audit") && len(c.Sources) > 0 {
		c.Audit = "off" // named sources replace the live ones unless audit is set
	}
	if err := c.validate(name, &root); err != nil {
		return Config{}, err
	}
	return c, nil
}

// checkUnique rejects a key given twice at the top level (the later one would
// silently win).
func checkUnique(name string, root *yaml.Node) error {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return nil // "---" alone: an empty document
	}
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: the configuration must be a mapping of settings, not a %s", name, m.Line, kindName(m))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if seen[k.Value] {
			return fmt.Errorf("%s:%d: %s is set twice", name, k.Line, k.Value)
		}
		seen[k.Value] = true
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	default:
		return "YAML node"
	}
}

// hasKey reports whether the document sets the top-level key.
func hasKey(root *yaml.Node, key string) bool {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return true
			}
		}
	}
	return false
}

// keyLine returns the line of the top-level key (1 when it is not found).
func keyLine(root *yaml.Node, key string) int {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i].Line
			}
		}
	}
	return 1
}

func (c *Config) validate(name string, root *yaml.Node) error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s: %s", name, keyLine(root, key), key, fmt.Sprintf(format, args...))
	}
	for i, s := range c.Sources {
		if strings.TrimSpace(s.Path) == "" {
			return bad("sources", "entry %d has no path", i+1)
		}
	}
	switch c.Audit {
	case "auto", "multicast", "log", "off":
	default:
		return bad("audit", "unknown source %q (want auto, multicast, log or off)", c.Audit)
	}
	for _, r := range c.AuditRules {
		if r != "execve" {
			return bad("audit_rules", "unknown rule set %q (the only one is execve)", r)
		}
	}
	if c.CacheMB < 1 {
		return bad("cache_mb", "must be at least 1, got %d", c.CacheMB)
	}
	if c.MemoryLimitMB < 0 {
		return bad("memory_limit_mb", "must be 0 (off) or positive, got %d", c.MemoryLimitMB)
	}
	if c.GenerateTimeout <= 0 {
		return bad("generate_timeout", "must be positive, got %s", c.GenerateTimeout)
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	if n := len(c.CharacterFrequencies); n > MaxCharacterFrequencies {
		return bad("character_frequencies", "has %d weights, at most %d are allowed", n, MaxCharacterFrequencies)
	}
	for i, f := range c.CharacterFrequencies {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return bad("character_frequencies", "weight %d is %v; weights must be finite and not negative", i, f)
		}
	}
	if err := c.validatePlugins(); err != nil {
		return bad(err.key, "%s", err.msg)
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		return bad("log_level", "%v", err)
	}
	if p := c.SigmaRules; p != "" && (!filepath.IsAbs(p) || filepath.Clean(p) != p) {
		return bad("sigma_rules", "path %q must be absolute and clean (osqueryd starts the extension in a folder of its own)", p)
	}
	return nil
}

// ParseLevel turns a log_level value into a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q (want debug, info, warn or error)", s)
}

// Level is the configured log level (info when it is invalid, which validation
// prevents).
func (c Config) Level() slog.Level {
	l, err := ParseLevel(c.LogLevel)
	if err != nil {
		return slog.LevelInfo
	}
	return l
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlError rewrites go-yaml's "yaml: line N: msg" (and each line of an
// unmarshal-errors list) as "name:N: msg".
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, 0, len(te.Errors))
		for _, e := range te.Errors {
			msgs = append(msgs, located(name, e))
		}
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return errors.New(located(name, err.Error()))
}

func located(name, msg string) string {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s: %s", name, m[1], strings.TrimPrefix(msg[len(m[0]):], "yaml: "))
	}
	return fmt.Sprintf("%s: %s", name, strings.TrimPrefix(msg, "yaml: "))
}

type pluginError struct{ key, msg string }

var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// validatePlugins checks the plugin settings: absolute, clean paths, 64-digit
// hex checksums, no plugin listed twice.
func (c *Config) validatePlugins() *pluginError {
	abs := func(p string) bool { return filepath.IsAbs(p) && filepath.Clean(p) == p }
	seen := map[string]bool{}
	for i, p := range c.Plugins {
		switch {
		case !abs(p.Path):
			return &pluginError{"plugins", fmt.Sprintf("entry %d: path %q must be absolute and clean", i+1, p.Path)}
		case !sha256Hex.MatchString(p.SHA256):
			return &pluginError{"plugins", fmt.Sprintf("entry %d (%s): sha256 must be 64 hex digits", i+1, p.Path)}
		case p.Timeout < 0:
			return &pluginError{"plugins", fmt.Sprintf("entry %d (%s): timeout must be positive", i+1, p.Path)}
		case seen[p.Path]:
			return &pluginError{"plugins", fmt.Sprintf("%s is listed twice", p.Path)}
		}
		seen[p.Path] = true
	}
	if c.PluginDir != "" && !abs(c.PluginDir) {
		return &pluginError{"plugin_dir", fmt.Sprintf("%q must be absolute and clean", c.PluginDir)}
	}
	if c.PluginChecksums != "" {
		if c.PluginDir == "" {
			return &pluginError{"plugin_checksums", "needs plugin_dir"}
		}
		if !abs(c.PluginChecksums) {
			return &pluginError{"plugin_checksums", fmt.Sprintf("%q must be absolute and clean", c.PluginChecksums)}
		}
	}
	return nil
}
