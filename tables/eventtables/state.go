package eventtables

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/exechunt/exechunt/tables/evidence"
	"github.com/exechunt/exechunt/tables/lineage/tree"
)

// The Store's state survives restarts of the extension: where each source was read
// to, the lineage index (so ancestors that exited before the restart still have
// names) and the script blocks still waiting for parts. Without it a restart
// re-reads every log from the start and loses the first parts of a script block
// whose events were rotated out meanwhile.
const (
	stateVersion = 1
	stateFile    = "eventtables.json"
	// saveEvery bounds how often the state is written. A crash loses at most this
	// much progress: the sources are read again from the last saved positions,
	// which repeats events but skips none.
	saveEvery = 30 * time.Second
	// headLen is how much of the start of a line-format file is fingerprinted to
	// notice that it was replaced while the extension was stopped.
	headLen = 4096
)

type savedState struct {
	Version int                    `json:"version"`
	Sources []string               `json:"sources"` // the configured paths the state belongs to
	SavedAt time.Time              `json:"saved_at"`
	Latest  time.Time              `json:"latest"` // the newest event ingested
	Cursors map[string]savedCursor `json:"cursors"`
	Lineage []savedNode            `json:"lineage"` // least recently used first
	Scripts []savedBlock           `json:"scripts"` // incomplete script blocks
}

type savedCursor struct {
	Format           evidence.Format `json:"format"`
	Size             int64           `json:"size"`
	ModTime          time.Time       `json:"mod_time"`
	Offset           int64           `json:"offset,omitempty"`
	Line             int             `json:"line,omitempty"`
	NextFileRecordID uint64          `json:"next_record_id,omitempty"`
	Head             []byte          `json:"head,omitempty"` // sha256 of the file's first HeadLen bytes
	HeadLen          int             `json:"head_len,omitempty"`
}

// savedNode is one process of the lineage index (tree.Proc). The fields after
// Time were added within version 1 and are empty in older files.
type savedNode struct {
	Key           string    `json:"key"`
	Image         string    `json:"image"`
	Cmdline       string    `json:"cmdline"`
	User          string    `json:"user,omitempty"`
	ParentKey     string    `json:"parent_key,omitempty"`
	ParentImage   string    `json:"parent_image,omitempty"`
	PID           int64     `json:"pid"`
	PPID          int64     `json:"ppid"`
	Time          time.Time `json:"time"`
	Host          string    `json:"host,omitempty"`
	ParentCmdline string    `json:"parent_cmdline,omitempty"`
	CurrentDir    string    `json:"current_directory,omitempty"`
	OriginalName  string    `json:"original_file_name,omitempty"`
	Description   string    `json:"description,omitempty"`
	Product       string    `json:"product,omitempty"`
	Company       string    `json:"company,omitempty"`
}

func toSaved(key string, p tree.Proc) savedNode {
	n := savedNode{Key: key, Image: p.Path, Cmdline: p.Cmdline, User: p.User, ParentImage: p.ParentPath, PID: p.PID,
		PPID: p.PPID, Time: p.Start, Host: p.Host, ParentCmdline: p.ParentCmdline, CurrentDir: p.CurrentDirectory,
		OriginalName: p.OriginalFileName, Description: p.Description, Product: p.Product, Company: p.Company}
	if p.ParentGUID != "" {
		n.ParentKey = guidKey(p.ParentGUID)
	} else if p.PPID != 0 {
		n.ParentKey = pidKey(p.Host, p.PPID)
	}
	return n
}

func (n *savedNode) proc() tree.Proc {
	p := tree.Proc{PID: n.PID, PPID: n.PPID, Path: n.Image, Cmdline: n.Cmdline, User: n.User, Start: n.Time,
		Host: n.Host, ParentPath: n.ParentImage, ParentCmdline: n.ParentCmdline, CurrentDirectory: n.CurrentDir,
		OriginalFileName: n.OriginalName, Description: n.Description, Product: n.Product, Company: n.Company}
	if g, ok := strings.CutPrefix(n.Key, "g:"); ok {
		p.GUID = g
	} else if rest, ok := strings.CutPrefix(n.Key, "p:"); ok && p.Host == "" {
		p.Host = rest[:max(strings.LastIndexByte(rest, ':'), 0)] // written before Host was saved
	}
	if g, ok := strings.CutPrefix(n.ParentKey, "g:"); ok {
		p.ParentGUID = g
	}
	return p
}

type savedBlock struct {
	ID       string      `json:"id"`
	Total    int         `json:"total"`
	First    time.Time   `json:"first"`
	Computer string      `json:"computer,omitempty"`
	UserSID  string      `json:"user_sid,omitempty"`
	PID      int64       `json:"pid,omitempty"`
	Path     string      `json:"path,omitempty"`
	Channel  string      `json:"channel,omitempty"`
	Parts    []savedPart `json:"parts"`
}

type savedPart struct {
	Number   int       `json:"number"`
	Text     string    `json:"text"`
	RecordID uint64    `json:"record_id,omitempty"`
	File     string    `json:"file,omitempty"`
	Locator  string    `json:"locator,omitempty"`
	Time     time.Time `json:"time"`
}

// Save writes the Store's state to Options.StateDir (nothing when it is empty). It
// waits for a read of the sources in flight, or returns ctx's error first.
func (s *Store) Save(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	return s.save()
}

// maybeSave saves when something changed and saveEvery passed. Callers hold the lock.
func (s *Store) maybeSave() {
	if s.opt.StateDir == "" || !s.dirty || time.Since(s.lastSave) < saveEvery {
		return
	}
	if err := s.save(); err != nil {
		s.warnOnce(s.opt.StateDir, err)
	}
}

// save writes the state atomically (temporary file, fsync, rename). Callers hold the lock.
func (s *Store) save() error {
	if s.opt.StateDir == "" {
		return nil
	}
	st := savedState{Version: stateVersion, Sources: s.paths, SavedAt: time.Now().UTC(), Latest: s.latest,
		Cursors: map[string]savedCursor{}}
	for path, c := range s.cursors {
		off, line := c.Resume()
		sc := savedCursor{Format: c.Format, Size: c.Size, ModTime: c.ModTime, Offset: off, Line: line,
			NextFileRecordID: c.NextFileRecordID}
		if off > 0 {
			sc.Head, sc.HeadLen = fingerprint(path, min(off, headLen))
		}
		st.Cursors[path] = sc
	}
	// Streamed to the file node by node: a marshalled copy of the lineage index
	// would add several times its size to the extension's peak memory.
	err := writeFileAtomic(filepath.Join(s.opt.StateDir, stateFile), func(w io.Writer) error { return s.encodeState(w, &st) })
	if err != nil {
		return fmt.Errorf("eventtables: save state: %w", err)
	}
	s.lastSave, s.dirty = time.Now(), false
	return nil
}

// encodeState writes st's header fields, then the lineage index (least recently
// used first) and the incomplete script blocks one element at a time, as the JSON
// document savedState decodes. Callers hold the lock.
func (s *Store) encodeState(w io.Writer, st *savedState) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	var err error
	field := func(sep, name string, v any) {
		if err == nil {
			_, _ = bw.WriteString(sep + `"` + name + `":`)
			err = enc.Encode(v)
		}
	}
	field("{", "version", st.Version)
	field(",", "sources", st.Sources)
	field(",", "saved_at", st.SavedAt)
	field(",", "latest", st.Latest)
	field(",", "cursors", st.Cursors)
	_, _ = bw.WriteString(`,"lineage":[`)
	first := true
	s.scorer.index.oldest(func(k string, p tree.Proc) bool {
		if !first {
			_ = bw.WriteByte(',')
		}
		first = false
		err = enc.Encode(toSaved(k, p))
		return err == nil
	})
	_, _ = bw.WriteString(`],"scripts":[`)
	first = true
	for _, id := range s.scripts.order {
		b := s.scripts.blocks[id]
		if err != nil || b == nil || b.complete() {
			continue
		}
		sb := savedBlock{ID: b.id, Total: b.total, First: b.first, Computer: b.computer, UserSID: b.userSID, PID: b.pid,
			Path: b.path, Channel: b.channel}
		for _, p := range b.ordered() {
			sb.Parts = append(sb.Parts, savedPart{Number: p.number, Text: p.text, RecordID: p.recordID, File: p.file,
				Locator: p.locator, Time: p.time})
		}
		if !first {
			_ = bw.WriteByte(',')
		}
		first = false
		err = enc.Encode(sb)
	}
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	_, _ = bw.WriteString("]}\n")
	return bw.Flush()
}

// load restores the state saved by an earlier run over the same sources. A missing
// file is a first start; a damaged or foreign one is set aside with a warning and the
// sources are read from the start. Callers hold the lock.
func (s *Store) load() {
	if s.opt.StateDir == "" {
		return
	}
	path := filepath.Join(s.opt.StateDir, stateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var st savedState
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err == nil && st.Version != stateVersion {
		err = fmt.Errorf("state version %d, want %d", st.Version, stateVersion)
	}
	if err != nil {
		s.log.Warn("event tables: saved state unusable, reading the sources from the start", "path", path, "err", err)
		_ = os.Rename(path, path+".bad")
		return
	}
	if !slices.Equal(st.Sources, s.paths) {
		s.log.Info("event tables: sources changed since the state was saved, reading them from the start", "path", path)
		return
	}
	resumed := 0
	for file, sc := range st.Cursors {
		if !stillSame(file, sc) {
			continue // replaced, truncated or cleared: read it again
		}
		s.cursors[file] = &evidence.Cursor{Format: sc.Format, Offset: sc.Offset, Line: sc.Line,
			NextFileRecordID: sc.NextFileRecordID}
		resumed++
	}
	for i := range st.Lineage {
		s.scorer.index.put(st.Lineage[i].Key, st.Lineage[i].proc())
	}
	for _, sb := range st.Scripts {
		b := &block{id: sb.ID, total: sb.Total, parts: map[int]*part{}, first: sb.First, computer: sb.Computer,
			userSID: sb.UserSID, pid: sb.PID, path: sb.Path, channel: sb.Channel}
		for _, p := range sb.Parts {
			b.parts[p.Number] = &part{number: p.Number, text: p.Text, recordID: p.RecordID, file: p.File, locator: p.Locator, time: p.Time}
			b.cost += partCost(b.parts[p.Number])
		}
		if _, dup := s.scripts.blocks[b.id]; !dup {
			s.scripts.blocks[b.id] = b
			s.scripts.order = append(s.scripts.order, b.id)
			s.scripts.cost += b.cost
		}
	}
	s.scripts.evict()
	s.latest = st.Latest
	if resumed > 0 && !st.Latest.IsZero() {
		// What was read before the restart is not in the buffers: windows reaching
		// before it are answered from the sources.
		covered := st.Latest.Add(time.Nanosecond)
		s.procs.covered, s.scripts.covered = covered, covered
	}
	s.log.Info("event tables: resumed from saved state", "sources", resumed, "lineage_nodes", len(st.Lineage),
		"partial_script_blocks", len(st.Scripts), "saved_at", st.SavedAt)
}

// stillSame reports whether file is the file a cursor was saved for, grown or not:
// a line format must be at least as long and start with the same bytes; an EVTX log
// must not have been cleared (its header's next record number must not go back).
func stillSame(file string, sc savedCursor) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false
	}
	switch sc.Format {
	case evidence.FormatEVTX:
		var hdr [32]byte
		if _, err := f.ReadAt(hdr[:], 0); err != nil || string(hdr[:7]) != "ElfFile" {
			return false
		}
		return binary.LittleEndian.Uint64(hdr[24:]) >= sc.NextFileRecordID
	default:
		if info.Size() < sc.Offset {
			return false
		}
		if sc.HeadLen < 0 || sc.HeadLen > headLen {
			return false // not written by save: distrust it
		}
		if sc.HeadLen == 0 {
			return sc.Offset == 0
		}
		head, n := fingerprintReader(f, int64(sc.HeadLen))
		return n == sc.HeadLen && bytes.Equal(head, sc.Head)
	}
}

func fingerprint(path string, n int64) ([]byte, int) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0
	}
	defer f.Close()
	return fingerprintReader(f, n)
}

func fingerprintReader(r io.ReaderAt, n int64) ([]byte, int) {
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0
	}
	sum := sha256.Sum256(buf[:got])
	return sum[:], got
}

// writeFileAtomic replaces path with what write writes, so that a crash leaves the
// old or the new file, never a torn one. The directory is created private.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
