package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// fileWithChunk wraps chunk bytes (padded or cut to 64 KiB) in a valid EVTX file header.
func fileWithChunk(chunk []byte) []byte {
	b := make([]byte, 0x1000+chunkSize)
	copy(b, fileMagic)
	binary.LittleEndian.PutUint16(b[36:], 1)
	binary.LittleEndian.PutUint16(b[38:], 3)
	binary.LittleEndian.PutUint16(b[40:], 0x1000)
	copy(b[0x1000:], chunk)
	return b
}

// FuzzRecords mutates a chunk (seeded with real corpus chunks when the corpus is
// present): the reader must never panic nor fail on content, and must not emit more
// records than the chunk can hold.
func FuzzRecords(f *testing.F) {
	if dir, ok := corpus.Dir(); ok {
		for _, rel := range []string{multiChunkFile,
			"sbousseaden_EVTX-ATTACK-SAMPLES/Credential Access/Powershell_4104_MiniDumpWriteDump_Lsass.evtx",
			"sans-blue-team_DeepBlueCLI/evtx/psattack-security.evtx"} {
			if data, err := os.ReadFile(filepath.Join(dir, rel)); err == nil && len(data) >= 0x1000+chunkSize {
				f.Add(data[0x1000 : 0x1000+chunkSize])
			}
		}
	}
	if data, err := os.ReadFile("testdata/powershell_shapes.evtx"); err == nil && len(data) >= 0x1000+chunkSize {
		f.Add(data[0x1000 : 0x1000+chunkSize]) // unnamed, string-array and {Name, Value} list EventData
	}
	seed := make([]byte, chunkSize)
	copy(seed, chunkMagic)
	binary.LittleEndian.PutUint64(seed[8:], 1)
	binary.LittleEndian.PutUint64(seed[16:], 1)
	copy(seed[chunkHeaderSize:], recordMagic)
	binary.LittleEndian.PutUint32(seed[chunkHeaderSize+4:], 64)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, chunk []byte) {
		data := fileWithChunk(chunk)
		n := 0
		_, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz.evtx", &source.Options{},
			func(r *event.Record) error {
				n++
				event.Normalize(r, true)
				return nil
			})
		if err != nil {
			t.Fatalf("error on content (should be a problem): %v", err)
		}
		if n > maxRecordsPerChunk {
			t.Fatalf("%d records from one chunk", n)
		}
	})
}
