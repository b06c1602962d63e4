package packs

import (
	"io/fs"
	"testing"
)

// FuzzParse feeds arbitrary pack files to Parse (seeded with the built-in
// packs): it returns a pack or an error, never panics, and a pack it accepts has
// a name and queries with SQL.
func FuzzParse(f *testing.F) {
	names, _ := fs.Glob(FS, "*.json")
	for _, n := range names {
		if b, err := fs.ReadFile(FS, n); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"queries":{"q":{"query":"SELECT 1","interval":"60"}}}`))
	f.Add([]byte(`// comment
{"platform":"windows","queries":{"q":{"query":"SELECT 1;","interval":1e99,"technique":"T1059.001","stack":["a"]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.json", data)
		if err != nil {
			return
		}
		for _, q := range p.Queries {
			if q.Name == "" || q.SQL == "" {
				t.Fatalf("accepted a query without a name or SQL: %+v", q)
			}
		}
	})
}
