package auditlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// FuzzRead mutates audit logs (seeded with the fixtures): the reader must never fail
// on content (a recovered panic would surface as an error), must not emit more events
// than it read records, and keeps its bounds.
func FuzzRead(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*.log")
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("type=EXECVE msg=audit(1.1:1): argc=2 a0_len=4 a0[0]=41 a0[1]=\"BC\" a1[99999999999]=00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Assembler
		opt := &source.Options{}
		st, err := a.Read(context.Background(), bytes.NewReader(data), "fuzz.log", opt, func(r *event.Record) error {
			e := event.Normalize(r, true)
			if e.ProcessCreation == nil {
				t.Fatalf("emitted a %s event", e.Kind)
			}
			if len(e.ProcessCreation.Cmdline) > 2*MaxArgBytes+4*MaxArgs+8 {
				t.Fatalf("command line of %d bytes", len(e.ProcessCreation.Cmdline))
			}
			return nil
		}, false)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if st.Emitted > st.Records || a.Pending() > MaxInFlight {
			t.Fatalf("emitted %d of %d records, %d pending", st.Emitted, st.Records, a.Pending())
		}
		if _, err := a.Flush("fuzz.log", opt, func(*event.Record) error { return nil }); err != nil || a.Pending() != 0 {
			t.Fatalf("Flush: %v, %d pending", err, a.Pending())
		}
	})
}
