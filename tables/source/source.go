// Package source is the contract shared by exechunt's evidence readers (EVTX, JSON
// lines, syslog, XML): what a caller may ask of a read (Options), what a read reports
// back (Stats) and how damaged input is described (Problem).
//
// Readers never stop at bad input: they report a Problem naming the file and the place
// (chunk/offset or line) and go on with the rest. No panic escapes a reader.
package source

import (
	"fmt"
	"time"

	"github.com/exechunt/exechunt/tables/event"
)

// Options tune a read. The zero value reads everything.
type Options struct {
	// Since and Until bound event time (inclusive); zero means unbounded. EVTX readers
	// use them to skip whole chunks without parsing them.
	Since, Until time.Time
	// Want, when set, is asked before EventData is touched; records it refuses are
	// counted as skipped. event.Classify-based filters keep only execution events.
	Want func(provider, channel string, id uint32) bool
	// Problem receives every non-fatal problem (damaged chunk, bad line). Nil drops them
	// (they are still counted in Stats.Problems).
	Problem func(*Problem)
	// MinFileRecordID makes the EVTX reader skip records whose file record number (the
	// record header's, which exports renumber 1..N) is below it, and whole chunks that
	// end below it, so a tail of a growing log reads only what is new.
	MinFileRecordID uint64
	// BaseLine and BaseOffset are added to line numbers and offsets in locators and
	// problems when a line reader is given the tail of a file.
	BaseLine   int
	BaseOffset int64
}

// InWindow reports whether t lies within [Since, Until].
func (o *Options) InWindow(t time.Time) bool {
	if !o.Since.IsZero() && t.Before(o.Since) {
		return false
	}
	if !o.Until.IsZero() && t.After(o.Until) {
		return false
	}
	return true
}

// Wanted applies Want (nil wants everything).
func (o *Options) Wanted(provider, channel string, id uint32) bool {
	return o.Want == nil || o.Want(provider, channel, id)
}

// Report counts a problem and hands it to the Problem callback.
func (o *Options) Report(st *Stats, p *Problem) {
	st.Problems++
	if o.Problem != nil {
		o.Problem(p)
	}
}

// Emit is called for every record a reader delivers. The record and its Fields are
// valid only during the call. Returning an error stops the read with that error.
type Emit func(*event.Record) error

// Stats count what a read saw.
type Stats struct {
	Files         int   `json:"files"`
	Bytes         int64 `json:"bytes"`
	Records       int64 `json:"records"`        // records or lines decoded
	Emitted       int64 `json:"emitted"`        // records handed to Emit
	Skipped       int64 `json:"skipped"`        // refused by Want or outside the time window
	SkippedChunks int64 `json:"skipped_chunks"` // EVTX chunks skipped by time window
	DamagedChunks int64 `json:"damaged_chunks"` // EVTX chunks with bad magic, checksum or cut records
	BadLines      int64 `json:"bad_lines"`      // JSON/syslog lines that could not be decoded
	Problems      int64 `json:"problems"`
	// LastFileRecordID is the highest EVTX record header number seen (0 for other
	// formats): a tail resumes after it.
	LastFileRecordID uint64 `json:"-"`
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.Files += o.Files
	s.Bytes += o.Bytes
	s.Records += o.Records
	s.Emitted += o.Emitted
	s.Skipped += o.Skipped
	s.SkippedChunks += o.SkippedChunks
	s.DamagedChunks += o.DamagedChunks
	s.BadLines += o.BadLines
	s.Problems += o.Problems
	s.LastFileRecordID = max(s.LastFileRecordID, o.LastFileRecordID)
}

// Problem is a non-fatal defect in the input: the file, where in it, and what.
type Problem struct {
	File  string
	Where string // "chunk 3 (offset 0x31000)", "line 42", "offset 1234"
	Err   error
}

func (p *Problem) Error() string {
	if p.Where == "" {
		return fmt.Sprintf("%s: %v", p.File, p.Err)
	}
	return fmt.Sprintf("%s: %s: %v", p.File, p.Where, p.Err)
}

// Unwrap gives errors.Is/As access to the cause.
func (p *Problem) Unwrap() error { return p.Err }
