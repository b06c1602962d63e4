// Package evidence reads a set of evidence files and folders (EVTX, JSON lines / JSON,
// Sysmon-for-Linux syslog, event XML, Linux audit logs) into normalised events. It recognises each
// file's format by its content, walks folders recursively in a stable order, reports
// progress, and keeps going past damaged files.
package evidence

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/source/auditlog"
	"github.com/exechunt/exechunt/tables/source/evtx"
	"github.com/exechunt/exechunt/tables/source/jsonl"
	"github.com/exechunt/exechunt/tables/source/syslog"
)

// Options tune Walk.
type Options struct {
	Since, Until time.Time
	// All keeps non-execution events too (Kind "other", with their raw Data).
	All bool
	// Analyzer, when set, decodes, tags and scores every execution event (Analyze).
	Analyzer *analysis.Analyzer
	// Lineage, when set with Analyzer, gives process creations their parent's score
	// (`parent_suspicious`), as the event tables do: Walk first reads every process
	// creation of the evidence into it (whatever the time window), then reads again for
	// output.
	Lineage Lineage
	// Problem receives every non-fatal problem, including files that cannot be read.
	Problem func(*source.Problem)
	// Progress, when set, is called after each file and at least every ProgressEvery.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Lineage resolves process creations' parents across the evidence
// (eventtables.Scorer).
type Lineage interface {
	// Add indexes a process creation as a possible parent.
	Add(*event.Event)
	// ParentScore is the score of the process's parent, judged in its own ancestry;
	// 0 when the parent is unknown.
	ParentScore(*event.Event) int
}

// Progress tells how far a Walk has come.
type Progress struct {
	// Indexing is set while Walk reads the process creations for Lineage, before it
	// reads for output.
	Indexing         bool
	FilesDone, Files int
	BytesDone, Bytes int64
	Events           int64
	Elapsed          time.Duration
}

// Summary is what a Walk saw.
type Summary struct {
	source.Stats
	FilesSkipped int              `json:"files_skipped"` // files in folders that are not evidence
	FilesFailed  int              `json:"files_failed"`  // files that could not be read at all
	FilesDamaged int              `json:"files_damaged"` // files read with problems (damaged chunks, bad lines)
	ByKind       map[string]int64 `json:"by_kind"`
}

// Format is a recognised evidence format.
type Format string

// Recognised formats.
const (
	FormatEVTX    Format = "evtx"
	FormatJSON    Format = "json"
	FormatSyslog  Format = "syslog"
	FormatAudit   Format = "audit" // Linux audit records: audit.log, ausearch --raw
	FormatUnknown Format = ""
)

// Walk reads every evidence file under paths and calls fn with each normalised event.
// Explicitly named files are always read; inside folders only files with evidence
// extensions are (see IsEvidenceName). It returns an error only when ctx ends, fn
// fails or a named path does not exist.
func Walk(ctx context.Context, paths []string, opt Options, fn func(*event.Event) error) (Summary, error) {
	sum := Summary{ByKind: map[string]int64{}}
	files, skipped, err := Collect(paths)
	if err != nil {
		return sum, err
	}
	sum.FilesSkipped = skipped
	var total int64
	for _, f := range files {
		total += f.Size
	}
	sopt := source.Options{Since: opt.Since, Until: opt.Until, Problem: opt.Problem}
	if !opt.All {
		sopt.Want = func(p, c string, id uint32) bool { return event.Classify(p, c, id) != event.KindOther }
	}
	start := time.Now()
	every := opt.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	lastReport := start
	prog := Progress{Files: len(files), Bytes: total}
	report := func() {
		if opt.Progress != nil {
			prog.Elapsed = time.Since(start)
			prog.Events = sum.Emitted
			opt.Progress(prog)
		}
	}
	if opt.Lineage != nil && opt.Analyzer != nil {
		prog.Indexing = true
		iopt := source.Options{Want: func(p, c string, id uint32) bool { return event.Classify(p, c, id) == event.KindProcessCreation }}
		for _, f := range files {
			_, err := ReadFile(ctx, f.Path, &iopt, func(r *event.Record) error {
				ev := event.Normalize(r, false)
				opt.Lineage.Add(&ev)
				return nil
			})
			if err != nil && ctx.Err() != nil {
				return sum, ctx.Err()
			} // other errors are reported by the read for output
			prog.FilesDone++
			prog.BytesDone += f.Size
			report()
		}
		prog = Progress{Files: len(files), Bytes: total}
	}
	emit := func(r *event.Record) error {
		ev := event.Normalize(r, opt.All)
		if opt.Analyzer != nil {
			parent := 0
			if opt.Lineage != nil && ev.ProcessCreation != nil {
				parent = opt.Lineage.ParentScore(&ev)
			}
			Analyze(opt.Analyzer, &ev, parent)
		}
		sum.ByKind[string(ev.Kind)]++
		if opt.Progress != nil && sum.Emitted%256 == 0 && time.Since(lastReport) >= every {
			lastReport = time.Now()
			report()
		}
		return fn(&ev)
	}
	for _, f := range files {
		st, err := ReadFile(ctx, f.Path, &sopt, emit)
		if NotEvidence(f, err) {
			sum.FilesSkipped++
			st = source.Stats{}
			err = nil
		}
		sum.Add(st)
		if st.Problems > 0 {
			sum.FilesDamaged++
		}
		if err != nil {
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			var fe *fileError
			if !errors.As(err, &fe) {
				return sum, err
			}
			sum.FilesFailed++
			sum.Problems++
			if opt.Problem != nil {
				opt.Problem(&source.Problem{File: f.Path, Err: fe.err})
			}
		}
		prog.FilesDone++
		prog.BytesDone += f.Size
		report()
	}
	return sum, nil
}

// fileError marks a failure confined to one file (unreadable, unknown format, not
// EVTX after all), after which Walk goes on with the next file.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// ReadFile reads one evidence file of any recognised format.
func ReadFile(ctx context.Context, path string, opt *source.Options, emit source.Emit) (source.Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return source.Stats{}, &fileError{err}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return source.Stats{}, &fileError{err}
	}
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return source.Stats{}, &fileError{fmt.Errorf("read: %w", err)}
	}
	format := Sniff(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return source.Stats{}, &fileError{err}
	}
	var st source.Stats
	switch format {
	case FormatEVTX:
		st, err = evtx.Read(ctx, f, info.Size(), path, opt, emit)
		if errors.Is(err, evtx.ErrNotEVTX) {
			err = &fileError{err}
		}
	case FormatJSON:
		st, err = jsonl.Read(ctx, f, path, opt, emit)
	case FormatSyslog:
		name := "syslog"
		if strings.EqualFold(filepath.Ext(path), ".xml") {
			name = "xml"
		}
		st, err = syslog.Read(ctx, bufio.NewReader(f), path, name, opt, emit)
	case FormatAudit:
		st, err = auditlog.Read(ctx, f, path, opt, emit)
	default:
		return source.Stats{Files: 1, Bytes: info.Size()}, &fileError{ErrUnknownFormat}
	}
	st.Bytes = info.Size()
	return st, err
}

// Sniff recognises a format from the first bytes of a file.
func Sniff(head []byte) Format {
	if bytes.HasPrefix(head, []byte("ElfFile\x00")) {
		return FormatEVTX
	}
	t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if bytes.HasPrefix(t, []byte("Record ")) { // evtx_dump: "Record N" lines between objects
		if i := bytes.IndexByte(t, '\n'); i > 0 {
			t = bytes.TrimLeft(t[i:], " \t\r\n")
		}
	}
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return FormatJSON
	}
	if auditlog.Sniff(t) {
		return FormatAudit
	}
	if bytes.Contains(head, []byte("<Event")) {
		return FormatSyslog
	}
	return FormatUnknown
}

// ErrUnknownFormat is the error of a file whose content is of no known evidence
// format (ReadFile, Tail); the file is skipped.
var ErrUnknownFormat = errors.New("format not recognised (not EVTX, JSON, event XML/syslog or Linux audit records); file skipped")

// File is one file Collect found.
type File struct {
	Path string
	Size int64
	// InFolder says the file was found inside a folder rather than named.
	InFolder bool
}

// NotEvidence reports whether err, the error of reading f, only means that f is not
// evidence: a file found inside a folder under a name that does not promise a
// format (.log, .txt, syslog*, messages*) and whose content is of no known format,
// such as an application's text log beside the event logs. Such a file counts as
// skipped, like the files whose names are not evidence. A file named on the
// command line, or named as a format (.evtx, .json, .jsonl, .ndjson, .xml), that is
// of no known format is unreadable.
func NotEvidence(f File, err error) bool {
	if err == nil || !f.InFolder || !errors.Is(err, ErrUnknownFormat) {
		return false
	}
	switch strings.ToLower(filepath.Ext(f.Path)) {
	case ".evtx", ".json", ".jsonl", ".ndjson", ".xml":
		return false
	}
	return true
}

// evidenceExt lists the extensions read inside folders.
var evidenceExt = map[string]bool{
	".evtx": true, ".json": true, ".jsonl": true, ".ndjson": true, ".xml": true, ".log": true, ".txt": true,
}

// IsEvidenceName reports whether a file found inside a folder is read: known evidence
// extensions, and syslog and audit logs by name (syslog, messages, syslog.1,
// audit.log.1, …).
func IsEvidenceName(name string) bool {
	lower := strings.ToLower(name)
	if evidenceExt[filepath.Ext(lower)] {
		return true
	}
	return strings.HasPrefix(lower, "syslog") || strings.HasPrefix(lower, "messages") || strings.HasPrefix(lower, "audit.log")
}

// Collect expands paths to the files to read, in stable (lexical) order, and counts the
// files inside folders that were passed over.
func Collect(paths []string) ([]File, int, error) {
	var files []File
	skipped := 0
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, 0, fmt.Errorf("evidence path: %w", err)
		}
		if !info.IsDir() {
			if !info.Mode().IsRegular() {
				return nil, 0, fmt.Errorf("evidence path %s: not a regular file (a FIFO, socket or device)", p)
			}
			files = append(files, File{Path: p, Size: info.Size()})
			continue
		}
		var found []File
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walk %s: %w", path, err)
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			if !IsEvidenceName(d.Name()) {
				skipped++
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", path, err)
			}
			found = append(found, File{Path: path, Size: fi.Size(), InFolder: true})
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
		sort.Slice(found, func(i, j int) bool { return found[i].Path < found[j].Path })
		files = append(files, found...)
	}
	return files, skipped, nil
}
