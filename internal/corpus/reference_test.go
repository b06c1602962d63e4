package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLocations(t *testing.T) {
	root := t.TempDir()
	c, lolbas := filepath.Join(root, "corpus"), filepath.Join(root, "reference", "lolbas")
	for _, d := range []string{c, filepath.Join(lolbas, "yml")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(Env, c)
	t.Setenv(ReferenceEnv, "")
	t.Setenv(LOLBASEnv, "")
	if d, ok := ReferenceDir(); d != filepath.Join(root, "reference") || !ok {
		t.Errorf("ReferenceDir beside the corpus = %q %v", d, ok)
	}
	if d, ok := LOLBASDir(); d != lolbas || !ok {
		t.Errorf("LOLBASDir in the reference = %q %v", d, ok)
	}
	t.Setenv(LOLBASEnv, root) // no yml/ there
	if d, ok := LOLBASDir(); d != root || ok {
		t.Errorf("LOLBASDir from %s = %q %v, want it named and not found", LOLBASEnv, d, ok)
	}
	t.Setenv(ReferenceEnv, filepath.Join(root, "missing"))
	t.Setenv(LOLBASEnv, "")
	if d, ok := LOLBASDir(); d != filepath.Join(root, "missing", "lolbas") || ok {
		t.Errorf("LOLBASDir under a missing reference = %q %v", d, ok)
	}
}
