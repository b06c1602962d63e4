package lineage

import (
	"context"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/tables/analysis"
)

func TestLRUBounds(t *testing.T) {
	c := newLRU(3, 1<<20)
	for i := int64(0); i < 5; i++ {
		c.put(cacheKey{pid: i}, cacheEntry{score: int(i)})
	}
	if c.len() != 3 {
		t.Fatalf("len %d", c.len())
	}
	if _, ok := c.get(cacheKey{pid: 1}); ok {
		t.Error("oldest entry kept")
	}
	c.get(cacheKey{pid: 2}) // 2 is now the most recent
	c.put(cacheKey{pid: 9}, cacheEntry{})
	if _, ok := c.get(cacheKey{pid: 2}); !ok {
		t.Error("recently used entry evicted")
	}
	if _, ok := c.get(cacheKey{pid: 3}); ok {
		t.Error("least recently used entry kept")
	}

	b := newLRU(100, 1000)
	big := cacheEntry{in: analysisInput{cmdline: strings.Repeat("x", 400)}}
	for i := int64(0); i < 10; i++ {
		b.put(cacheKey{pid: i}, big)
	}
	if b.len() != 1 || b.bytes > 1000 {
		t.Errorf("byte bound: len %d bytes %d", b.len(), b.bytes)
	}
	b.put(cacheKey{pid: 99}, cacheEntry{in: analysisInput{cmdline: strings.Repeat("x", 2000)}})
	if _, ok := b.get(cacheKey{pid: 99}); ok {
		t.Error("entry larger than the cache kept")
	}
}

// countingAnalyzer is checked through the cache: the same incarnation with the same
// command line is analysed once; an exec (same pid and start, new command line) again.
func TestAnalysisCache(t *testing.T) {
	src := newFake(proc(1, 0, "init", 0), proc(2, 1, "bash", 1))
	tbl := newTable(Options{Source: src})
	for i := 0; i < 3; i++ {
		if _, err := tbl.generate(context.Background(), qc()); err != nil {
			t.Fatal(err)
		}
	}
	if n := tbl.cache.len(); n != 2 {
		t.Fatalf("cache holds %d entries, want 2", n)
	}
	e, _ := tbl.cache.get(cacheKey{pid: 2, start: at(1).UnixNano()})
	if e.in.cmdline != "bash" || e.in.parentImage != "/usr/bin/init" {
		t.Errorf("cached input %+v", e.in)
	}
	// exec: same pid and start time, new command line → fresh analysis.
	p := src.procs[2]
	p.Cmdline = "powershell -enc SQBFAFgA"
	p.Name, p.Path = "pwsh", "/usr/bin/pwsh"
	src.procs[2] = p
	rows, err := tbl.generate(context.Background(), qc("pid", "2"))
	if err != nil {
		t.Fatal(err)
	}
	want := analysis.AnalyzeCommandLine(p.Cmdline, analysis.Process{Image: p.Path, ParentImage: "/usr/bin/init", User: "root"})
	if got := rows[0]["indicators"]; got != strings.Join(want.Indicators, ",") || got == "" {
		t.Errorf("indicators after exec %q, want %q", got, want.Indicators)
	}
	// Disabled cache.
	off := newTable(Options{Source: src, CacheEntries: -1})
	if off.cache != nil {
		t.Error("negative CacheEntries did not disable the cache")
	}
	if _, err := off.generate(context.Background(), qc()); err != nil {
		t.Fatal(err)
	}
}
