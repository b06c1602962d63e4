package config

import (
	"strings"
	"testing"
	"time"
)

func TestParsePlugins(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	c, err := Parse("e.yaml", []byte(`
plugins:
  - path: /opt/exechunt/plugins/lolbas
    sha256: `+sum+`
  - path: /opt/other
    sha256: `+strings.ToUpper(sum)+`
    timeout: 30s
plugin_dir: /opt/exechunt/plugins
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Plugins) != 2 || c.Plugins[0] != (Plugin{Path: "/opt/exechunt/plugins/lolbas", SHA256: sum}) ||
		c.Plugins[1].Timeout != 30*time.Second || c.PluginDir != "/opt/exechunt/plugins" || c.PluginChecksums != "" {
		t.Errorf("got %+v", c)
	}
	for _, tc := range []struct{ doc, want string }{
		{"plugins:\n  - path: lolbas\n    sha256: " + sum + "\n", "e.yaml:1: plugins: entry 1: path \"lolbas\" must be absolute"},
		{"plugins:\n  - path: /a/../b\n    sha256: " + sum + "\n", "must be absolute and clean"},
		{"plugins:\n  - path: /a\n    sha256: abc\n", "entry 1 (/a): sha256 must be 64 hex digits"},
		{"plugins:\n  - path: /a\n", "sha256 must be 64 hex digits"},
		{"plugins:\n  - path: /a\n    sha256: " + sum + "\n  - path: /a\n    sha256: " + sum + "\n", "/a is listed twice"},
		{"plugins:\n  - path: /a\n    sha256: " + sum + "\n    shasum: x\n", "field shasum not found"},
		{"plugin_dir: plugins\n", "plugin_dir: \"plugins\" must be absolute"},
		{"plugin_checksums: /x/SUMS\n", "plugin_checksums: needs plugin_dir"},
	} {
		if _, err := Parse("e.yaml", []byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.doc, err, tc.want)
		}
	}
}
