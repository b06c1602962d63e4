package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// multiChunkFile is a real 1.1 MB Sysmon log with many chunks (96 process creations).
const multiChunkFile = "sbousseaden_EVTX-ATTACK-SAMPLES/AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx"

func loadCorpusFile(t testing.TB, rel string) []byte {
	t.Helper()
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type result struct {
	stats    source.Stats
	err      error
	problems []string
	records  []event.Record
}

func read(t testing.TB, data []byte, opt source.Options) result {
	t.Helper()
	var res result
	opt.Problem = func(p *source.Problem) { res.problems = append(res.problems, p.Error()) }
	res.stats, res.err = Read(context.Background(), bytes.NewReader(data), int64(len(data)), "test.evtx", &opt, func(r *event.Record) error {
		cp := *r
		m := event.MapFields{Values: map[string]string{}}
		r.Data.Each(func(k, v string) { m.Values[k] = v; m.Order = append(m.Order, k) })
		cp.Data = m
		res.records = append(res.records, cp)
		return nil
	})
	return res
}

func countProcessCreations(recs []event.Record) int {
	n := 0
	for _, r := range recs {
		if event.Classify(r.Provider, r.Channel, r.EventID) == event.KindProcessCreation {
			n++
		}
	}
	return n
}

func TestReadRealFile(t *testing.T) {
	data := loadCorpusFile(t, multiChunkFile)
	res := read(t, data, source.Options{})
	if res.err != nil || len(res.problems) > 0 {
		t.Fatalf("err=%v problems=%v", res.err, res.problems)
	}
	if got := countProcessCreations(res.records); got != 96 {
		t.Errorf("process creations = %d, want 96 (MANIFEST.md)", got)
	}
	r := res.records[0]
	if r.Provider == "" || r.Channel == "" || r.Computer == "" || r.Time.IsZero() || r.RecordID == 0 {
		t.Errorf("first record lacks System fields: %+v", r)
	}
	for _, r := range res.records {
		if r.EventID == 1 {
			if v, _ := r.Data.Get("Image"); !strings.HasSuffix(strings.ToLower(v), ".exe") {
				t.Errorf("record %d: Image = %q", r.RecordID, v)
			}
			if v, _ := r.Data.Get("ProcessGuid"); len(v) != 38 || v[0] != '{' { // as Windows renders it
				t.Errorf("record %d: ProcessGuid = %q", r.RecordID, v)
			}
		}
	}
}

// chunkOffsets returns the offsets of the chunks that hold records.
func chunkOffsets(data []byte) []int {
	var offs []int
	for off := 0x1000; off+chunkSize <= len(data); off += chunkSize {
		if string(data[off:off+8]) == chunkMagic {
			offs = append(offs, off)
		}
	}
	return offs
}

func TestDamagedInputKeepsTheRest(t *testing.T) {
	orig := loadCorpusFile(t, multiChunkFile)
	all := read(t, orig, source.Options{})
	chunks := chunkOffsets(orig)
	if len(chunks) < 3 {
		t.Fatalf("want a multi-chunk file, got %d chunks", len(chunks))
	}
	second := chunks[1]
	perChunk := len(read(t, orig[:second+chunkSize], source.Options{}).records) - len(read(t, orig[:second], source.Options{}).records)

	tests := []struct {
		name        string
		damage      func([]byte) []byte
		wantProblem string
		minRecords  int // at least this many records still read
		maxRecords  int
	}{
		{"bad chunk magic", func(b []byte) []byte { copy(b[second:], "XXXXXXXX"); return b },
			"bad chunk magic", len(all.records) - perChunk, len(all.records) - perChunk},
		{"file cut inside a chunk", func(b []byte) []byte { return b[:second+chunkSize/2] },
			"file ends inside the chunk", len(read(t, orig[:second], source.Options{}).records), len(read(t, orig[:second], source.Options{}).records)},
		{"record cut short", func(b []byte) []byte {
			// Break the magic of the chunk's 3rd record: the header walk stops there.
			offs := recordOffsets(b[second:second+chunkSize], 4)
			copy(b[second+offs[2]:], "\x00\x00\x00\x00")
			return b
		}, "39 of them recovered by scanning", len(all.records) - 1, len(all.records) - 1},
		{"flipped bytes inside records", func(b []byte) []byte {
			for i := second + chunkHeaderSize + 100; i < second+chunkSize; i += 997 {
				b[i] ^= 0x5a
			}
			return b
		}, "checksum mismatch", len(all.records) - perChunk, len(all.records)},
		{"garbage chunks", func(b []byte) []byte {
			for i := second; i < second+chunkSize; i++ {
				b[i] = byte(i * 7)
			}
			return b
		}, "bad chunk magic", len(all.records) - perChunk, len(all.records) - perChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.damage(append([]byte(nil), orig...))
			res := read(t, data, source.Options{})
			if res.err != nil {
				t.Fatalf("read stopped: %v", res.err)
			}
			if !strings.Contains(strings.Join(res.problems, "\n"), tt.wantProblem) {
				t.Errorf("problems %q lack %q", res.problems, tt.wantProblem)
			}
			for _, p := range res.problems {
				if !strings.HasPrefix(p, "test.evtx: chunk 1 (offset 0x11000)") {
					t.Errorf("problem does not name the file and damaged chunk: %q", p)
				}
			}
			if n := len(res.records); n < tt.minRecords || n > tt.maxRecords {
				t.Errorf("records = %d, want %d..%d (of %d undamaged)", n, tt.minRecords, tt.maxRecords, len(all.records))
			}
			if res.stats.DamagedChunks != 1 {
				t.Errorf("damaged chunks = %d, want 1", res.stats.DamagedChunks)
			}
		})
	}
}

func TestNotEVTX(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":      nil,
		"short":      []byte("ElfFile\x00"),
		"text":       []byte(strings.Repeat("not an evtx file\n", 20)),
		"bad header": append([]byte("ElfFilX\x00"), make([]byte, 200)...),
	} {
		t.Run(name, func(t *testing.T) {
			res := read(t, data, source.Options{})
			if !errors.Is(res.err, ErrNotEVTX) {
				t.Fatalf("err = %v, want ErrNotEVTX", res.err)
			}
			if !strings.Contains(res.err.Error(), "test.evtx") {
				t.Errorf("error does not name the file: %v", res.err)
			}
		})
	}
}

func TestHeaderOnlyAndGarbageAfterHeader(t *testing.T) {
	head := make([]byte, 0x1000)
	copy(head, fileMagic)
	binary.LittleEndian.PutUint16(head[38:], 3)
	binary.LittleEndian.PutUint16(head[40:], 0x1000)
	res := read(t, head, source.Options{})
	if res.err != nil || len(res.records) != 0 || len(res.problems) != 0 {
		t.Errorf("header only: err=%v records=%d problems=%v", res.err, len(res.records), res.problems)
	}
	garbage := append(head, bytes.Repeat([]byte("ElfChnk\x00garbage!"), chunkSize/8)...)
	res = read(t, garbage, source.Options{})
	if res.err != nil {
		t.Errorf("garbage chunk stopped the read: %v", res.err)
	}
	if res.stats.DamagedChunks == 0 || len(res.problems) == 0 {
		t.Errorf("garbage chunk not reported as damaged: %v", res.problems)
	}
}

func TestTimeWindowSkipsChunks(t *testing.T) {
	data := loadCorpusFile(t, multiChunkFile)
	all := read(t, data, source.Options{})
	var first, last time.Time
	for _, r := range all.records {
		if first.IsZero() || r.Time.Before(first) {
			first = r.Time
		}
		if r.Time.After(last) {
			last = r.Time
		}
	}
	mid := first.Add(last.Sub(first) / 2)
	res := read(t, data, source.Options{Since: mid})
	if res.stats.SkippedChunks == 0 {
		t.Errorf("no chunk skipped for --since %s (range %s..%s)", mid, first, last)
	}
	want := 0
	for _, r := range all.records {
		if !r.Time.Before(mid) {
			want++
		}
	}
	if len(res.records) != want {
		t.Errorf("records since %s = %d, want %d", mid, len(res.records), want)
	}
	for _, r := range res.records {
		if r.Time.Before(mid) {
			t.Fatalf("record at %s is before --since %s", r.Time, mid)
		}
	}
	none := read(t, data, source.Options{Until: first.Add(-time.Hour)})
	// The last chunk's first record header has a zeroed time, so its range is unknown
	// and it is parsed (its records are still filtered one by one).
	if len(none.records) != 0 || none.stats.SkippedChunks < int64(len(chunkOffsets(data))-1) {
		t.Errorf("until before the first event: %d records, %d chunks skipped", len(none.records), none.stats.SkippedChunks)
	}
}

func TestContextCancelStops(t *testing.T) {
	data := loadCorpusFile(t, multiChunkFile)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Read(ctx, bytes.NewReader(data), int64(len(data)), "x.evtx", &source.Options{}, func(*event.Record) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
