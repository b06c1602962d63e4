package packlint

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/packs"
)

var update = flag.Bool("update", false, "rewrite osquery-schema.json from ../shared/reference/osquery-schema.json")

func linter(t *testing.T) *Linter {
	t.Helper()
	spec, err := os.ReadFile("../../testdata/extension-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	ext, err := ParseSchema(spec)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(OsquerySchema(), ext)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestBuiltinPacksAreClean(t *testing.T) {
	fs, err := linter(t).FS(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		t.Error(f)
	}
}

func TestOsqueryPacks(t *testing.T) {
	dir := "../../../shared/reference/osquery-packs"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("osquery's packs are not here (../shared/reference/osquery-packs):", err)
	}
	l := linter(t)
	fs, err := l.Paths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.conf"))
	if len(files) < 10 {
		t.Fatalf("%d osquery packs", len(files))
	}
	// osquery's packs load unmodified and compile against osquery's schema; three
	// queries read tables osquery has since retired: warnings naming them.
	want := map[string]int{"table alf_services was removed from osquery's schema": 2,
		"table opera_extensions was removed from osquery's schema": 1}
	got := map[string]int{}
	for _, f := range fs {
		t.Log(f)
		if f.Severity == Error {
			t.Errorf("unexpected error: %s", f)
		}
		for w := range want {
			if strings.HasPrefix(f.Message, w) && f.Severity == Warning {
				got[w]++
			}
		}
	}
	for w, n := range want {
		if got[w] != n {
			t.Errorf("%d warnings %q, want %d", got[w], w, n)
		}
	}
}

func TestBadPacks(t *testing.T) {
	fs, err := linter(t).Paths([]string{"testdata"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	t.Log("\n" + all)
	for _, want := range []string{
		`testdata/bad-fields.json:3: error: query "a": severity "urgent": want one of info, low, medium, high, critical`,
		`testdata/bad-fields.json:4: error: query "b": technique "T59"`,
		`testdata/bad.json:4: error: query "unknown_table": no such table: process_creations`,
		`testdata/bad.json:8: error: query "unknown_column": line 1, column 14: no such column: parent_nam`,
		`testdata/bad.json:12: error: query "bad_cron": schedule "0 */2 * *"`,
		`testdata/bad.json:16: error: query "bad_stack": stack key "parent_name": the query returns no parent_name column`,
		`testdata/bad.json:16: error: query "bad_stack": stack key "cmdline_shape": the query returns no cmdline column`,
		`testdata/bad.json:20: warning: query "no_time": reads an event table but returns no time column`,
		`testdata/bad.json:22: warning: query "no_time": unknown query key "intervall" (ignored)`,
		`testdata/bad.json:24: warning: query "wrong_platform": table apps is not available on windows`,
		`testdata/bad.json:28: error: query "syntax": line 1, column 18: near "process_lineage": syntax error`,
		`testdata/bad.json:31: warning: query "retired": table lldp_neighbors was removed from osquery in 5.4.0: current osquery fails this query with "no such table"`,
		`testdata/broken.json:6: error: invalid character '}' looking for beginning of object key string`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing finding %q", want)
		}
	}
	if Errors(fs) != 9 {
		t.Errorf("%d errors, want 9", Errors(fs))
	}
}

func TestOsquerySchemaSnapshot(t *testing.T) {
	src, err := os.ReadFile("../../../shared/reference/osquery-schema.json")
	if err != nil {
		t.Skip("../shared/reference/osquery-schema.json is not here:", err)
	}
	full, err := ParseSchema(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, tb := range full {
		if tb.Platforms == nil {
			tb.Platforms = []string{}
		}
		var line bytes.Buffer
		enc := json.NewEncoder(&line)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tb); err != nil {
			t.Fatal(err)
		}
		b.Write(bytes.TrimSpace(line.Bytes()))
		if i < len(full)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	if *update {
		if err := os.WriteFile("osquery-schema.json", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(b.Bytes(), osquerySchema) {
		t.Errorf("osquery-schema.json is stale: go test ./packs/packlint -run TestOsquerySchemaSnapshot -update")
	}
}
