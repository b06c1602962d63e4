package pluginhost_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/extension/pluginhost"
)

func TestSpecCheck(t *testing.T) {
	abs, _ := filepath.Abs("x")
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		spec pluginhost.Spec
		ok   bool
	}{
		{pluginhost.Spec{Path: abs, SHA256: sum}, true},
		{pluginhost.Spec{Path: "x", SHA256: sum}, false},
		{pluginhost.Spec{Path: abs + string(filepath.Separator), SHA256: sum}, false},
		{pluginhost.Spec{Path: abs, SHA256: sum[:62]}, false},
		{pluginhost.Spec{Path: abs, SHA256: strings.Repeat("zz", 32)}, false},
	} {
		if err := tc.spec.Check(); (err == nil) != tc.ok || (err != nil && !errors.Is(err, pluginhost.ErrInvalidSpec)) {
			t.Errorf("%+v: err = %v", tc.spec, err)
		}
	}
}

func TestParseFlag(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plug")
	if err := os.WriteFile(p, []byte("hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	const helloSum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	got, err := pluginhost.ParseFlag(p)
	if err != nil || got != (pluginhost.Spec{Path: p, SHA256: helloSum}) {
		t.Errorf("PATH: %+v %v", got, err)
	}
	other := strings.Repeat("0", 64)
	got, err = pluginhost.ParseFlag(p + ":" + strings.ToUpper(other))
	if err != nil || got != (pluginhost.Spec{Path: p, SHA256: other}) {
		t.Errorf("PATH:SHA256: %+v %v", got, err)
	}
	// A colon that is not followed by a checksum is part of the path.
	if _, err := pluginhost.ParseFlag(p + ":abc"); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestReadChecksums(t *testing.T) {
	dir := t.TempDir()
	sumA, sumB := strings.Repeat("a", 64), strings.Repeat("B", 64)
	write := func(s string) string {
		f := filepath.Join(dir, "SHA256SUMS")
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := write("# plugins\n" + sumA + "  lolbas\n\n" + sumB + " *other\n")
	got, err := pluginhost.ReadChecksums(dir, f)
	want := []pluginhost.Spec{{Path: filepath.Join(dir, "lolbas"), SHA256: sumA}, {Path: filepath.Join(dir, "other"), SHA256: strings.ToLower(sumB)}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v %v", got, err)
	}
	for _, bad := range []string{
		sumA + "\n",
		sumA + "  ../evil\n",
		sumA + "  sub/evil\n",
		sumA + "  x\n" + sumA + "  x\n",
		"abc  x\n",
	} {
		if _, err := pluginhost.ReadChecksums(dir, write(bad)); !errors.Is(err, pluginhost.ErrInvalidSpec) || !strings.Contains(err.Error(), "SHA256SUMS:") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if _, err := pluginhost.ReadChecksums("rel", f); err == nil {
		t.Error("relative plugin_dir accepted")
	}
}
