package config

import (
	"strings"
	"testing"
)

// FuzzParse: any input yields a valid Config or an error naming the file; never a
// panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "cache_mb: 8\n", "sources:\n  - path: /x\n", "generate_timeout: 4m\n",
		"character_frequencies: [0.1, 2]\n", "- a\n", "a: &x [*x]\n", "cache_mb: 1\n---\nx: 1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if c.CacheMB < 1 || c.MemoryLimitMB < 0 || c.GenerateTimeout <= 0 || len(c.CharacterFrequencies) > MaxCharacterFrequencies || c.StateDir == "" {
			t.Errorf("invalid config accepted: %+v", c)
		}
	})
}
