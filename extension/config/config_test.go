package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	full := `# the documented example
sources:
  - path: /var/log/syslog
  - path: /evidence/*.evtx
cache_mb: 32
memory_limit_mb: 0
generate_timeout: 90s
state_dir: /tmp/exechunt-state
character_frequencies: [0, 0.5, 1]
log_level: debug
audit: log
audit_rules: [execve]
sigma_rules: /etc/exechunt/sigma
`
	want := Config{
		Sources:              []Source{{"/var/log/syslog"}, {"/evidence/*.evtx"}},
		Audit:                "log",
		AuditRules:           []string{"execve"},
		CacheMB:              32,
		MemoryLimitMB:        0,
		GenerateTimeout:      90 * time.Second,
		StateDir:             "/tmp/exechunt-state",
		CharacterFrequencies: []float64{0, 0.5, 1},
		LogLevel:             "debug",
		SigmaRules:           "/etc/exechunt/sigma",
		File:                 "x.yaml",
	}
	got, err := Parse("x.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	partial, err := Parse("p.yaml", []byte("cache_mb: 8\n"))
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	def.CacheMB, def.File = 8, "p.yaml"
	def.MemoryLimitMB = 6 // follows cache_mb when not given: three quarters of 8
	if def.Audit != "auto" {
		t.Errorf("default audit source %q, want auto", def.Audit)
	}
	if named, err := Parse("n.yaml", []byte("sources:\n  - path: /evidence\n")); err != nil || named.Audit != "off" {
		t.Errorf("named sources: audit %q, %v; want off", named.Audit, err)
	}
	if !reflect.DeepEqual(partial, def) {
		t.Errorf("keys not given keep their defaults: %+v", partial)
	}
	for _, c := range []struct {
		doc   string
		limit int
	}{
		{"", 50}, // 64 less the program's code
		{"cache_mb: 256\n", 242},
		{"cache_mb: 256\nmemory_limit_mb: 0\n", 0},
		{"memory_limit_mb: 100\n", 100},
	} {
		got, err := Parse("m.yaml", []byte(c.doc))
		if err != nil || got.MemoryLimitMB != c.limit {
			t.Errorf("%q: memory limit %d (%v), want %d", c.doc, got.MemoryLimitMB, err, c.limit)
		}
	}

	for _, empty := range []string{"", "# nothing\n", "---\n"} {
		c, err := Parse("e.yaml", []byte(empty))
		if err != nil {
			t.Errorf("%q: %v", empty, err)
			continue
		}
		c.File = ""
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q: an empty file must mean the defaults, got %+v", empty, c)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // substring of the error; every error names the file and line
	}{
		{"bad yaml", "cache_mb: 8\nsources: [\n", "c.yaml:2:"},
		{"bad indentation", "cache_mb: 8\n  log_level: info\nx", "c.yaml:2:"},
		{"unknown key", "cache_mb: 8\ncache_size: 9\n", "c.yaml:2: field cache_size not found"},
		{"unknown key in a source", "sources:\n  - path: /a\n    glob: yes\n", "c.yaml:3: field glob not found"},
		{"wrong type", "cache_mb: lots\n", "c.yaml:1:"},
		{"bad duration", "log_level: info\ngenerate_timeout: soon\n", "c.yaml:2:"},
		{"not a mapping", "- a\n- b\n", "c.yaml:1: the configuration must be a mapping"},
		{"duplicate key", "cache_mb: 8\nlog_level: info\ncache_mb: 9\n", "c.yaml:3: cache_mb is set twice"},
		{"two documents", "cache_mb: 8\n---\ncache_mb: 9\n", "c.yaml:2: only one YAML document"},
		{"zero cache", "log_level: info\ncache_mb: 0\n", "c.yaml:2: cache_mb: must be at least 1"},
		{"negative memory limit", "memory_limit_mb: -1\n", "c.yaml:1: memory_limit_mb"},
		{"zero timeout", "\ngenerate_timeout: 0s\n", "c.yaml:2: generate_timeout: must be positive"},
		{"bad level", "log_level: loud\n", "c.yaml:1: log_level: unknown level"},
		{"bad audit source", "audit: netlink\n", "c.yaml:1: audit: unknown source \"netlink\""},
		{"bad audit rules", "cache_mb: 8\naudit_rules: [execve, all]\n", "c.yaml:2: audit_rules: unknown rule set \"all\""},
		{"empty source", "sources:\n  - path: ''\n", "c.yaml:1: sources: entry 1 has no path"},
		{"vector too long", "character_frequencies: [" + strings.Repeat("0.1, ", 256) + "0.1]\n", "c.yaml:1: character_frequencies: has 257 weights"},
		{"negative weight", "character_frequencies: [0.1, -2]\n", "c.yaml:1: character_frequencies: weight 1 is -2"},
		{"NaN weight", "character_frequencies: [.nan]\n", "c.yaml:1: character_frequencies: weight 0 is NaN"},
		{"relative sigma_rules", "log_level: info\nsigma_rules: rules/sigma\n", `c.yaml:2: sigma_rules: path "rules/sigma" must be absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.text))
			if err == nil {
				t.Fatalf("no error for %q", tt.text)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "extension.yaml")

	t.Run("missing default file means defaults", func(t *testing.T) {
		c, err := load("", missing)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("default file is read", func(t *testing.T) {
		p := write(t, "extension.yaml", "cache_mb: 16\n")
		c, err := load("", p)
		if err != nil || c.CacheMB != 16 || c.File != p {
			t.Errorf("got %+v, %v", c, err)
		}
	})
	t.Run("bad default file is an error", func(t *testing.T) {
		p := write(t, "extension.yaml", "cache_mb: [\n")
		if _, err := load("", p); err == nil || !strings.Contains(err.Error(), p+":") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing explicit file is an error", func(t *testing.T) {
		_, err := load(missing, "/nonexistent/default.yaml")
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("EXECHUNT_CONFIG overrides the default path", func(t *testing.T) {
		p := write(t, "mine.yaml", "log_level: warn\nsources:\n  - path: /x\n")
		t.Setenv(EnvVar, p)
		c, err := Load()
		if err != nil {
			t.Fatal(err)
		}
		if c.File != p || c.LogLevel != "warn" || len(c.Sources) != 1 {
			t.Errorf("got %+v", c)
		}
		t.Setenv(EnvVar, missing)
		if _, err := Load(); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing EXECHUNT_CONFIG file: err = %v", err)
		}
	})
}

func TestDefaultPaths(t *testing.T) {
	if !filepath.IsAbs(DefaultPath()) || filepath.Base(DefaultPath()) != "extension.yaml" {
		t.Errorf("DefaultPath() = %q", DefaultPath())
	}
	if !filepath.IsAbs(DefaultStateDir()) {
		t.Errorf("DefaultStateDir() = %q", DefaultStateDir())
	}
}

func TestLevel(t *testing.T) {
	for in, want := range map[string]string{"debug": "DEBUG", "": "INFO", "INFO": "INFO", "warning": "WARN", "error": "ERROR"} {
		if got := (Config{LogLevel: in}).Level().String(); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}
