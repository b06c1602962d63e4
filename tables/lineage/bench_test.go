package lineage

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
)

// The synthetic 10,000-process tree is written once per test binary (the
// benchmark functions are called several times while b.N is calibrated).
var (
	synthOnce sync.Once
	synthRoot string
	synthFix  fixture
	synthErr  error
)

func synthTree(b *testing.B) (string, fixture) {
	b.Helper()
	synthOnce.Do(func() {
		synthRoot, synthErr = os.MkdirTemp("", "lineage-proc-*")
		if synthErr != nil {
			return
		}
		synthFix = synthetic(10000)
		writeFixture(b, synthRoot, synthFix)
	})
	if synthErr != nil {
		b.Fatal(synthErr)
	}
	return synthRoot, synthFix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if synthRoot != "" {
		os.RemoveAll(synthRoot)
	}
	os.Exit(code)
}

// deepest returns the pid with the longest chain in f.
func deepest(f fixture) int64 {
	parent := make(map[int64]int64, len(f.Procs))
	for _, p := range f.Procs {
		parent[p.PID] = p.PPID
	}
	best, bestDepth := int64(1), 0
	for _, p := range f.Procs {
		d := 0
		for q := p.PID; parent[q] > 0 && d < 100; q = parent[q] {
			d++
		}
		if d > bestDepth {
			best, bestDepth = p.PID, d
		}
	}
	return best
}

func benchGenerate(b *testing.B, src Source, q map[string]string, warm bool) {
	ctx := context.Background()
	query := qc()
	for k, v := range q {
		query = qc(k, v)
	}
	tbl := New(Options{Source: src})
	rows, err := tbl.Generate(ctx, query) // warms the analysis cache
	if err != nil || len(rows) == 0 {
		b.Fatalf("%d rows, %v", len(rows), err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !warm {
			tbl = New(Options{Source: src})
		}
		if _, err := tbl.Generate(ctx, query); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows)), "rows")
	if len(rows) == 1 {
		d, _ := strconv.Atoi(rows[0]["depth"])
		b.ReportMetric(float64(d), "depth")
	}
}

// BenchmarkGenerateLive is a full generate over this machine's processes.
func BenchmarkGenerateLive(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skipf("no procfs: %v", err)
	}
	b.Run("warm", func(b *testing.B) { benchGenerate(b, NewProcFS("/"), nil, true) })
	b.Run("cold", func(b *testing.B) { benchGenerate(b, NewProcFS("/"), nil, false) })
}

// BenchmarkGenerate10k is a full generate over a synthetic 10,000-process /proc
// (target: 50 ms with a warm analysis cache, the steady state of a scheduled query).
func BenchmarkGenerate10k(b *testing.B) {
	root, _ := synthTree(b)
	b.Run("warm", func(b *testing.B) { benchGenerate(b, NewProcFS(root), nil, true) })
	b.Run("cold", func(b *testing.B) { benchGenerate(b, NewProcFS(root), nil, false) })
}

// BenchmarkPoint10k is WHERE pid = N for the deepest process of the 10,000 tree
// (target: 2 ms).
func BenchmarkPoint10k(b *testing.B) {
	root, f := synthTree(b)
	pid := strconv.FormatInt(deepest(f), 10)
	b.Run("warm", func(b *testing.B) { benchGenerate(b, NewProcFS(root), map[string]string{"pid": pid}, true) })
	b.Run("cold", func(b *testing.B) { benchGenerate(b, NewProcFS(root), map[string]string{"pid": pid}, false) })
}

// BenchmarkList10k is the /proc reader alone; BenchmarkTree10k the table over an
// in-memory listing (tree, rows, warm analysis cache), to split the cost.
func BenchmarkList10k(b *testing.B) {
	root, _ := synthTree(b)
	src := NewProcFS(root)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := src.List(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTree10k(b *testing.B) {
	root, _ := synthTree(b)
	procs, err := NewProcFS(root).List(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	benchGenerate(b, newFake(procs...), nil, true)
}

// BenchmarkSyscallFloor10k does only the system calls a listing needs (per process:
// open, read and close stat, status and cmdline, readlink exe), single-threaded and
// without parsing: the floor under BenchmarkList10k on this machine.
func BenchmarkSyscallFloor10k(b *testing.B) {
	root, f := synthTree(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range f.Procs {
			dir := root + "/proc/" + strconv.FormatInt(p.PID, 10) + "/"
			for _, name := range []string{"stat", "status", "cmdline"} {
				if _, err := readFile(dir+name, &buf, 4096); err != nil {
					b.Fatal(err)
				}
			}
			_, _ = readLink(dir + "exe")
		}
	}
}
