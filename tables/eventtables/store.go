// Package eventtables serves the event-based hunt tables, process_creation_events and
// powershell_script_blocks, from one Store that tails the configured evidence (live
// logs on a host, files for the offline engine).
//
// The Store reads incrementally: before each query a background tailer reads only
// what the sources gained since the last read (EVTX by record number, line formats
// by offset; see tail.go: the query waits for it on its own context), then the
// query answers from memory when the asked time window is covered by the in-memory
// buffer, and otherwise re-reads the sources for that window (EVTX chunks outside it
// are skipped unparsed). The live process_lineage's History lookups (Lookup) read
// only the lineage index.
// Memory is bounded by Options.CacheBytes: the event buffer, the lineage index
// (process GUID → summary, so ancestry survives a parent's exit) and the analysis
// cache share it.
package eventtables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidence"
	"github.com/exechunt/exechunt/tables/internal/lru"
	"github.com/exechunt/exechunt/tables/source"
	"github.com/exechunt/exechunt/tables/source/auditlog"
)

// DefaultCacheBytes is the default memory budget of a Store's caches.
const DefaultCacheBytes = 64 << 20

// Options configure a Store.
type Options struct {
	// Paths are files, folders (read recursively) and globs. Nil means the platform's
	// live defaults (DefaultPaths).
	Paths []string
	// CacheBytes is the memory budget the Store's caches are cut from: 28% for
	// recent process creations, 10% for script blocks, 8% for the lineage index, 8%
	// for the process analysis cache (shared with the live process_lineage, see
	// LineageScorer), 2% for the script analysis cache and 2% for the pid index. The rest is left for the
	// work of a query, the garbage collector's headroom and the program itself, so
	// the process stays within the budget. Zero means DefaultCacheBytes.
	CacheBytes int64
	// StateDir keeps read positions, the lineage index and partial script blocks
	// across restarts (see state.go); empty keeps nothing.
	StateDir string
	Analyzer *analysis.Analyzer // nil means analysis.New()
	Logger   *slog.Logger       // nil means slog.Default()
	// Audit chooses the Linux audit source read besides Paths (audit_linux.go): ""
	// or "off" none; "auto" the kernel's audit multicast group when the process may
	// read it, else /var/log/audit/audit.log when it can be read; "multicast" or
	// "log" only that one. Other systems have none.
	Audit string
	// AuditRules lists audit rules to install at the first read ("execve"); without
	// it the Store never changes the kernel's audit rules.
	AuditRules []string
	// Problem, when set, receives each problem of the input once (a damaged EVTX
	// chunk, a bad line, a file that cannot be read or is of no known format)
	// instead of the log, so that a command over evidence files can name them
	// (exechunt scan, sql). Live hosts leave it nil: problems are logged.
	Problem func(*source.Problem)
}

// Store holds the state shared by the event tables.
type Store struct {
	opt   Options
	log   *slog.Logger
	paths []string

	// sem is the Store's lock (a one-slot semaphore, so that a query waiting for it
	// can give up when its context ends). It guards the buffers, the cursors and the
	// state below; the lineage index has its own lock, so History lookups never
	// wait for a read of the sources.
	sem     chan struct{}
	cursors map[string]*evidence.Cursor
	procs   procBuffer
	scripts scriptIndex
	scorer  *Scorer // the lineage index and the process analysis cache
	// scriptResults caches the analyses of reassembled scripts.
	scriptResults *lru.Cache[[32]byte, analysis.Result]
	tail          tailer
	// lookupMaxAge is how old the last read of the sources may be for a History
	// lookup (a process_lineage query looks up many pids); tests change it.
	lookupMaxAge time.Duration
	// latest is the newest event ingested; dirty says the state changed since
	// lastSave; loaded says the saved state was read (at the first refresh, so that
	// building the tables touches nothing).
	latest   time.Time
	dirty    bool
	loaded   bool
	lastSave time.Time
	// warned remembers paths whose problems were logged, so a broken file is not
	// reported on every query.
	warned map[string]bool
	// read is what the reads of the sources saw (Read); seen and damaged are the
	// files it counts, notEvidence those found to be no evidence by their content
	// (evidence.NotEvidence).
	read                       evidence.Summary
	seen, damaged, notEvidence map[string]bool
	// auditStarted says the audit source was chosen (at the first read);
	// multicast is the kernel's audit stream when it is the one.
	auditStarted bool
	multicast    *auditlog.Multicast
}

// New returns a Store over opt.Paths.
func New(opt Options) *Store {
	if opt.CacheBytes <= 0 {
		opt.CacheBytes = DefaultCacheBytes
	}
	if opt.Analyzer == nil {
		opt.Analyzer = analysis.New()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	paths := opt.Paths
	if paths == nil {
		paths = DefaultPaths()
	}
	// See Options.CacheBytes for the split.
	budget := opt.CacheBytes
	return &Store{
		opt:     opt,
		log:     opt.Logger,
		paths:   paths,
		cursors: map[string]*evidence.Cursor{},
		procs:   procBuffer{maxCost: budget * 28 / 100, seen: map[identity]struct{}{}},
		scripts: scriptIndex{maxCost: budget * 10 / 100, blocks: map[string]*block{}},
		scorer:  NewScorer(opt.Analyzer, budget),

		scriptResults: lru.New[[32]byte, analysis.Result](0, budget*2/100, func(r analysis.Result) int64 { return resultCost(&r) }),
		warned:        map[string]bool{},
		sem:           make(chan struct{}, 1),

		lookupMaxAge: time.Second,
		read:         evidence.Summary{ByKind: map[string]int64{}},
		seen:         map[string]bool{},
		damaged:      map[string]bool{},
		notEvidence:  map[string]bool{},
	}
}

// lock takes the Store's lock, or returns ctx's error when ctx ends first.
func (s *Store) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlock() { <-s.sem }

// identity is an event's identity across exports and re-reads: System/EventRecordID +
// Computer + Channel.
type identity struct {
	computer, channel string
	id                uint64
}

// files expands the configured paths to the files that exist now.
func (s *Store) files() []evidence.File {
	var out []evidence.File
	notEvidence := 0
	defer func() { s.read.FilesSkipped = notEvidence }()
	for _, p := range s.paths {
		matches, err := filepath.Glob(p)
		if err != nil || len(matches) == 0 {
			matches = []string{p}
		}
		for _, m := range matches {
			info, err := os.Stat(m)
			if err != nil {
				continue // a live default that does not exist on this host
			}
			if info.Mode().IsRegular() {
				out = append(out, evidence.File{Path: m, Size: info.Size()})
				continue
			}
			if !info.IsDir() {
				// A FIFO, socket or device would block every query's read.
				s.warnOnce(m, errors.New("not a regular file (a FIFO, socket or device): not read"))
				continue
			}
			found, skipped, err := evidence.Collect([]string{m})
			if err != nil {
				s.warnOnce(m, err)
				continue
			}
			notEvidence += skipped
			out = append(out, found...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// warnOnce reports that a source could not be read, once per path: to
// Options.Problem when set, else to the log.
func (s *Store) warnOnce(path string, err error) {
	if s.warned[path] {
		return
	}
	s.warned[path] = true
	if s.opt.Problem != nil {
		s.opt.Problem(&source.Problem{File: path, Err: err})
		return
	}
	s.log.Warn("evidence source problem", "path", path, "err", err)
}

// Read reads what the sources gained since the last read, as the first query would,
// and returns what all the reads so far saw: files read, skipped as not evidence
// (inside folders), unreadable and damaged, records and events. A command over
// evidence files calls it before its queries to report on its input.
func (s *Store) Read(ctx context.Context) (evidence.Summary, error) {
	if err := s.enter(ctx); err != nil {
		return evidence.Summary{}, err
	}
	defer s.unlock()
	sum := s.read
	sum.FilesSkipped += len(s.notEvidence)
	sum.ByKind = make(map[string]int64, len(s.read.ByKind))
	for k, n := range s.read.ByKind {
		sum.ByKind[k] = n
	}
	return sum, nil
}

// refresh reads what the sources gained since the last call. Callers hold the lock.
func (s *Store) refresh(ctx context.Context) error {
	opt := source.Options{
		Want: func(p, c string, id uint32) bool { return event.Classify(p, c, id) != event.KindOther },
		Problem: func(p *source.Problem) {
			if s.opt.Problem != nil {
				s.opt.Problem(p)
				return
			}
			s.log.Debug("evidence problem", "problem", p.Error())
		},
	}
	if !s.loaded {
		s.loaded = true
		s.load()
	}
	if !s.auditStarted {
		s.auditStarted = true
		s.startAudit()
	}
	defer s.maybeSave()
	s.drainAudit()
	for _, file := range s.files() {
		f := file.Path
		cur := s.cursors[f]
		if cur == nil {
			cur = &evidence.Cursor{}
			s.cursors[f] = cur
		}
		before := *cur
		st, _, err := evidence.Tail(ctx, f, cur, opt, func(r *event.Record) error {
			ev := event.Normalize(r, false)
			s.read.ByKind[string(ev.Kind)]++
			s.ingest(&ev)
			return nil
		})
		if evidence.NotEvidence(file, err) {
			s.notEvidence[f] = true
			continue
		}
		s.count(f, cur, before, st, err)
		if cur.Offset != before.Offset || cur.NextFileRecordID != before.NextFileRecordID || cur.Size != before.Size {
			s.dirty = true
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.warnOnce(f, err)
		}
	}
	return nil
}

// drainAudit ingests the process creations the kernel's audit stream completed
// since the last read. Callers hold the lock.
func (s *Store) drainAudit() {
	if s.multicast == nil {
		return
	}
	dropped, err := s.multicast.Drain(func(e *event.Event) {
		s.read.Emitted++
		s.read.ByKind[string(e.Kind)]++
		s.ingest(e)
	})
	if dropped > 0 {
		s.log.Warn("audit: process creations dropped: the tables were not queried for long on a busy host", "dropped", dropped)
	}
	if err != nil {
		s.warnOnce(auditlog.StreamName, err)
	}
}

// Close stops the live sources the Store started (the kernel's audit stream).
func (s *Store) Close() error {
	if err := s.lock(context.Background()); err != nil {
		return err
	}
	defer s.unlock()
	if s.multicast == nil {
		return nil
	}
	err := s.multicast.Close()
	s.multicast = nil
	return err
}

// count adds one Tail of file f to s.read: a file counts once however often it is
// read, as unreadable while its last read failed, as damaged once a read of it
// reported a problem.
func (s *Store) count(f string, cur *evidence.Cursor, before evidence.Cursor, st source.Stats, err error) {
	if !s.seen[f] {
		s.seen[f] = true
		s.read.Files++
	}
	s.read.Records += st.Records
	s.read.Emitted += st.Emitted
	s.read.Skipped += st.Skipped
	s.read.SkippedChunks += st.SkippedChunks
	s.read.DamagedChunks += st.DamagedChunks
	s.read.BadLines += st.BadLines
	s.read.Problems += st.Problems
	if st.Problems > 0 && !s.damaged[f] {
		s.damaged[f] = true
		s.read.FilesDamaged++
	}
	if cur.Size > before.Size {
		s.read.Bytes += cur.Size - before.Size
	}
	if err != nil && !s.warned[f] {
		s.read.FilesFailed++
		s.read.Problems++
	}
}

// ingest adds one execution event to the buffers and the lineage index.
func (s *Store) ingest(ev *event.Event) {
	if ev.Time.After(s.latest) {
		s.latest = ev.Time
	}
	switch {
	case ev.ProcessCreation != nil:
		s.scorer.Add(ev)
		s.procs.add(ev)
	case ev.ScriptBlockPart != nil:
		s.scripts.add(ev)
	}
}

// reread streams the events of a time window straight from the sources, for queries
// reaching further back than the buffers hold. Lineage learnt on the way is kept.
func (s *Store) reread(ctx context.Context, since, until time.Time, kind event.Kind, fn func(*event.Event)) error {
	opt := source.Options{
		Since: since, Until: until,
		Want: func(p, c string, id uint32) bool { return event.Classify(p, c, id) == kind },
	}
	for _, file := range s.files() {
		f := file.Path
		_, err := evidence.ReadFile(ctx, f, &opt, func(r *event.Record) error {
			ev := event.Normalize(r, false)
			if ev.ProcessCreation != nil {
				s.scorer.Add(&ev)
			}
			fn(&ev)
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var pe *source.Problem
			if !errors.As(err, &pe) && !evidence.NotEvidence(file, err) {
				s.warnOnce(f, err)
			}
		}
	}
	return nil
}

// Stats describe the Store's memory use, for logs and tests.
type Stats struct {
	Events, Blocks, LineageNodes int
	EventBytes, ScriptBytes      int64
	CoveredSince                 time.Time
}

// Stats reports the Store's current sizes; it waits for a read of the sources in
// flight, or returns ctx's error first.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	if err := s.lock(ctx); err != nil {
		return Stats{}, err
	}
	defer s.unlock()
	return Stats{
		Events: len(s.procs.events), Blocks: len(s.scripts.blocks), LineageNodes: s.scorer.index.len(),
		EventBytes: s.procs.cost, ScriptBytes: s.scripts.cost, CoveredSince: s.procs.covered,
	}, nil
}

func (s Stats) String() string {
	return fmt.Sprintf("%d events (%d B), %d script blocks (%d B), %d lineage nodes, covered since %s",
		s.Events, s.EventBytes, s.Blocks, s.ScriptBytes, s.LineageNodes, s.CoveredSince.Format(time.RFC3339))
}

func resultCost(r *analysis.Result) int64 {
	return int64(256 + len(r.DecodedCommand) + len(r.EncodedCommand) + 32*len(r.Layers) + 24*len(r.Indicators))
}
