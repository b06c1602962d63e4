package evtx

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/source/evtx/binxml"
)

// largestCorpusEVTX returns the n largest EVTX files of the corpus, loaded in memory
// so that the benchmark measures parsing, not the disk.
func largestCorpusEVTX(b *testing.B, n int) map[string][]byte {
	dir, ok := corpus.Dir()
	if !ok {
		b.Skip(corpus.SkipMessage)
	}
	type file struct {
		path string
		size int64
	}
	var files []file
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Ext(p) == ".evtx" {
			files = append(files, file{p, info.Size()})
		}
		return nil
	})
	sort.Slice(files, func(i, j int) bool {
		return files[i].size > files[j].size || files[i].size == files[j].size && files[i].path < files[j].path
	})
	out := map[string][]byte{}
	for _, f := range files[:min(n, len(files))] {
		data, err := os.ReadFile(f.path)
		if err != nil {
			b.Fatal(err)
		}
		out[f.path] = data
	}
	return out
}

// rawParse is the baseline: the BinXML decode of every record of every chunk, with
// nothing done to the result (no headers checked, no mapping, no filtering).
func rawParse(data []byte) int {
	n := 0
	for off := 0x1000; off+chunkSize <= len(data); off += chunkSize {
		b := data[off : off+chunkSize]
		for _, roff := range recordOffsets(b, maxRecordsPerChunk) {
			if _, err := binxml.ParseRecord(b, roff); err == nil {
				n++
			}
		}
	}
	return n
}

// normalised is exechunt's reader producing typed events of every record (--all), the
// most work it can do per record.
func normalised(data []byte, all bool) int {
	n := 0
	opt := &source.Options{}
	if !all {
		opt.Want = func(p, c string, id uint32) bool { return event.Classify(p, c, id) != event.KindOther }
	}
	Read(context.Background(), bytes.NewReader(data), int64(len(data)), "bench.evtx", opt, func(r *event.Record) error {
		ev := event.Normalize(r, all)
		if ev.Kind != "" {
			n++
		}
		return nil
	})
	return n
}

// BenchmarkReaderVsRaw times the raw BinXML decode and exechunt's normalising reader
// over the same largest corpus files in one run and reports the ratio.
func BenchmarkReaderVsRaw(b *testing.B) {
	files := largestCorpusEVTX(b, 8)
	var bytesTotal int64
	for _, d := range files {
		bytesTotal += int64(len(d))
	}
	var raw, norm, normAll time.Duration
	var events, records int
	b.SetBytes(bytesTotal)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, d := range files {
			t0 := time.Now()
			rawParse(d)
			t1 := time.Now()
			records += normalised(d, true)
			t2 := time.Now()
			events += normalised(d, false)
			t3 := time.Now()
			raw += t1.Sub(t0)
			normAll += t2.Sub(t1)
			norm += t3.Sub(t2)
		}
	}
	secs := raw.Seconds() / float64(b.N)
	b.ReportMetric(float64(len(files)), "files")
	b.ReportMetric(float64(bytesTotal)/secs/1e6, "raw-MB/s")
	b.ReportMetric(float64(bytesTotal)/(normAll.Seconds()/float64(b.N))/1e6, "reader-all-MB/s")
	b.ReportMetric(float64(records)/normAll.Seconds(), "records/s")
	b.ReportMetric(float64(events)/norm.Seconds(), "exec-events/s")
	b.ReportMetric(normAll.Seconds()/raw.Seconds(), "all-x-raw")
	b.ReportMetric(norm.Seconds()/raw.Seconds(), "exec-x-raw")
}
