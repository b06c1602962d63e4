package lineage

import (
	"strings"
	"testing"
)

// FuzzParseStat: any input parses without panicking, and any comm (which may hold
// spaces, parentheses and newlines) round-trips through the kernel's format.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(fixtureProc{PID: 1, Comm: "systemd", StartTicks: 1})), "systemd", int64(1), uint64(1))
	f.Add([]byte("12 (a) b) (c) R 1 12 12 0 -1"), "(x) y", int64(0), uint64(1<<33))
	f.Add([]byte(""), ")", int64(-1), uint64(0))
	f.Fuzz(func(t *testing.T, raw []byte, comm string, ppid int64, ticks uint64) {
		_, _ = parseStat(raw)
		if strings.IndexByte(comm, 0) >= 0 || ppid < 0 || ticks > 1<<62 {
			return
		}
		line := statLine(fixtureProc{PID: 42, PPID: ppid, Comm: comm, StartTicks: ticks})
		st, err := parseStat([]byte(line))
		if err != nil {
			t.Fatalf("parseStat(%q): %v", line, err)
		}
		if st.PID != 42 || st.Comm != comm || st.PPID != ppid || st.StartTicks != ticks || st.State != 'S' {
			t.Fatalf("parseStat(%q) = %+v", line, st)
		}
	})
}

// FuzzParseProcArgs: hostile kern.procargs2 buffers never panic.
func FuzzParseProcArgs(f *testing.F) {
	f.Add([]byte("\x02\x00\x00\x00/bin/sh\x00\x00\x00sh\x00-c\x00"))
	f.Add([]byte("\xff\xff\xff\x7f/x\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = parseProcArgs(b)
	})
}
