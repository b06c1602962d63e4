package lineage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
	"github.com/exechunt/exechunt/tables/internal/decimal"
	"github.com/exechunt/exechunt/tables/lineage/tree"
)

// ClockTicks is the unit of /proc/<pid>/stat start times: USER_HZ, which Linux
// exports as 100 on every architecture (sysconf(_SC_CLK_TCK) would need cgo).
const ClockTicks = 100

// MaxCmdline bounds the bytes read from /proc/<pid>/cmdline (Linux allows up to
// ARG_MAX, 2 MiB and more); a longer command line is cut there.
const MaxCmdline = 128 << 10

// ProcFS reads processes from a Linux procfs mounted at <root>/proc, with user
// names from <root>/etc/passwd. Root is "/" on a live system; tests point it at a
// synthetic tree. It is safe for concurrent use.
type ProcFS struct {
	root   string
	proc   string
	passwd string

	bootOnce sync.Once
	bootID   string
	btime    int64 // Unix seconds of boot, read once: /proc/stat btime drifts with clock adjustments

	usersMu      sync.Mutex
	users        map[uint32]string
	usersStamp   passwdStamp
	usersChecked time.Time

	// static caches what a process cannot change without an exec (command line,
	// executable) and its user, per incarnation, for full listings: a warm listing
	// then reads only stat (3 system calls instead of 10). An entry is used only while
	// comm (changed by exec) is unchanged, and its user is re-checked against the
	// /proc/<pid> owner (the effective uid) every Revalidate.
	staticMu sync.RWMutex
	static   map[staticKey]staticInfo
	// clock, when set by a test, replaces time.Now.
	clock func() time.Time

	// procFD is <root>/proc opened once, so per-process files are opened relative to
	// it (-1 when that is not possible: then by full path).
	procOnce sync.Once
	procFD   int

	// kept holds /proc/<pid>/stat descriptors kept open between full listings, so a
	// warm listing reads each process with one system call (pread) instead of three
	// (open, read, close). It is a separate object so a cleanup can close the
	// descriptors when the ProcFS is dropped without Close.
	kept *keptStats

	// afterList, when set by a test, runs between listing <root>/proc and reading
	// the processes (to make one vanish).
	afterList func(names []string)
}

// DefaultKeepOpen bounds the stat files a ProcFS keeps open between listings; it
// also keeps at most half of the process's open-file limit.
const DefaultKeepOpen = 16384

// keptStats is the set of kept-open stat files, pid → descriptor. A List takes
// the whole set for its duration (a concurrent List then opens files anew).
type keptStats struct {
	mu    sync.Mutex
	max   int
	stats map[int64]keptStat
}

type keptStat struct {
	fd    int
	start uint64 // start ticks of the process the descriptor was opened for
}

// take removes and returns the set (nil when empty or taken).
func (k *keptStats) take() map[int64]keptStat {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := k.stats
	k.stats = nil
	return m
}

// put stores a listing's set, or closes it when another listing stored one first.
func (k *keptStats) put(m map[int64]keptStat) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stats == nil && k.max > 0 {
		k.stats = m
		return
	}
	for _, s := range m {
		closeFD(s.fd)
	}
}

// closeAll closes every kept descriptor.
func (k *keptStats) closeAll() {
	for _, s := range k.take() {
		closeFD(s.fd)
	}
}

// Close releases the stat files kept open between listings. The ProcFS stays
// usable; the next List opens them again.
func (s *ProcFS) Close() error {
	s.kept.closeAll()
	return nil
}

// SetKeepOpen sets how many stat files may be kept open between listings (0 turns
// it off), capped at half the open-file limit. It closes those kept so far.
func (s *ProcFS) SetKeepOpen(n int) {
	s.kept.mu.Lock()
	s.kept.max = keepOpenCap(n)
	s.kept.mu.Unlock()
	s.kept.closeAll()
}

func keepOpenCap(n int) int {
	if !keepOpenSupported || n <= 0 {
		return 0
	}
	if lim := openFileLimit(); lim > 0 {
		n = min(n, lim/2)
	}
	return n
}

type passwdStamp struct {
	mod  time.Time
	size int64
}

// staticKey names one process incarnation.
type staticKey struct {
	pid   int64
	start uint64
}

type staticInfo struct {
	comm, cmdline, path, user, guid string
	owner                           uint32
	checked                         time.Time // when owner was last compared with the live process
}

// Revalidate is how long a cached incarnation is trusted without re-checking its
// effective uid (one extra system call): a process that changes user without an exec
// shows its new user within this time.
const Revalidate = 10 * time.Second

func (s *ProcFS) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

func (s *ProcFS) touch(k staticKey, now time.Time) {
	s.staticMu.Lock()
	defer s.staticMu.Unlock()
	if v, ok := s.static[k]; ok {
		v.checked = now
		s.static[k] = v
	}
}

func (s *ProcFS) cached(k staticKey) (staticInfo, bool) {
	s.staticMu.RLock()
	defer s.staticMu.RUnlock()
	v, ok := s.static[k]
	return v, ok
}

func (s *ProcFS) remember(k staticKey, v staticInfo) {
	s.staticMu.Lock()
	defer s.staticMu.Unlock()
	if s.static == nil {
		s.static = map[staticKey]staticInfo{}
	}
	s.static[k] = v
}

// prune drops cached incarnations that a full listing no longer saw.
func (s *ProcFS) prune(seen map[staticKey]bool) {
	s.staticMu.Lock()
	defer s.staticMu.Unlock()
	for k := range s.static {
		if !seen[k] {
			delete(s.static, k)
		}
	}
}

// NewProcFS returns a Source reading <root>/proc and <root>/etc/passwd.
// Full listings keep up to DefaultKeepOpen stat files open (see SetKeepOpen); Close
// releases them.
func NewProcFS(root string) *ProcFS {
	s := &ProcFS{root: root, proc: filepath.Join(root, "proc"), passwd: filepath.Join(root, "etc", "passwd"),
		kept: &keptStats{max: keepOpenCap(DefaultKeepOpen)}}
	runtime.AddCleanup(s, (*keptStats).closeAll, s.kept)
	return s
}

// procReader holds the buffers of one List or Get call.
type procReader struct {
	fs    *ProcFS
	buf   []byte
	path  []byte
	users map[uint32]string
	now   time.Time // when this read began (cache revalidation)
	rel   []byte    // "<pid>/stat", relative to the proc directory

	// For full listings: the stat files kept open by the previous listing, the
	// number of descriptors this listing may still keep open (shared by its
	// workers), and the descriptor the last read kept (-1 for none).
	held   map[int64]keptStat
	budget *atomic.Int64
	keptFD int
}

// dirFD returns the open <root>/proc (or -1).
func (s *ProcFS) dirFD() int {
	s.procOnce.Do(func() {
		fd, err := openDir(s.proc)
		if err != nil {
			fd = -1
		}
		s.procFD = fd
	})
	return s.procFD
}

func (s *ProcFS) reader() *procReader {
	s.boot()
	return &procReader{fs: s, buf: make([]byte, 0, 4096), path: make([]byte, 0, 64), users: s.userNames(), now: s.now()}
}

// List reads every process under <root>/proc. Processes that vanish or cannot be
// read are left out.
func (s *ProcFS) List(ctx context.Context) ([]Proc, error) {
	d, err := os.Open(s.proc)
	if err != nil {
		return nil, fmt.Errorf("open procfs: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("list procfs: %w", err)
	}
	if s.afterList != nil {
		s.afterList(names)
	}
	return s.readAll(ctx, names)
}

// listWorkers bounds the goroutines reading /proc in parallel; listChunk is how
// many entries a worker takes at a time. Below parallelMin entries one goroutine
// reads them all.
const (
	listWorkers = 4
	listChunk   = 128
	parallelMin = 512
)

// readAll reads the processes named by /proc entries, in parallel on large
// systems (the cost is system calls, ten per process), keeping the listing order.
func (s *ProcFS) readAll(ctx context.Context, names []string) ([]Proc, error) {
	procs := make([]Proc, len(names))
	ok := make([]bool, len(names))
	workers := min(runtime.GOMAXPROCS(0), listWorkers, (len(names)+listChunk-1)/listChunk)
	if len(names) < parallelMin {
		workers = 1
	}
	held := s.kept.take()
	fds := make([]int, len(names))
	for i := range fds {
		fds[i] = -1
	}
	var budget atomic.Int64
	budget.Store(int64(s.kept.limit() - len(held)))
	var next atomic.Int64
	work := func() {
		r := s.reader()
		r.held, r.budget = held, &budget
		for ctx.Err() == nil {
			lo := int(next.Add(listChunk)) - listChunk
			if lo >= len(names) {
				return
			}
			for i := lo; i < min(lo+listChunk, len(names)); i++ {
				pid, isPID := parsePID(names[i])
				if !isPID {
					continue
				}
				p, err := r.read(pid, false)
				fds[i] = r.keptFD
				if err != nil {
					continue // vanished, or a kernel oddity: never fail the query for one process
				}
				procs[i], ok[i] = p, true
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(work)
	}
	work()
	wg.Wait()
	s.keep(held, procs, ok, fds)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := procs[:0]
	seen := make(map[staticKey]bool, len(procs))
	for i := range procs {
		if ok[i] {
			out = append(out, procs[i])
			seen[staticKey{procs[i].PID, startTicks(procs[i].Start, s.btime)}] = true
		}
	}
	s.prune(seen)
	clear(procs[len(out):])
	return out, nil
}

// keep stores the stat descriptors of this listing's processes for the next one
// and closes the previous listing's descriptors that were not carried over (their
// process exited or could not be read). fds[i] is the descriptor read for entry i,
// or -1; workers never close a held descriptor, so none is closed twice.
func (s *ProcFS) keep(held map[int64]keptStat, procs []Proc, ok []bool, fds []int) {
	var next map[int64]keptStat
	carried := 0
	for i, fd := range fds {
		if fd < 0 {
			continue
		}
		if !ok[i] {
			if h, was := held[procs[i].PID]; !was || h.fd != fd {
				closeFD(fd) // opened by this listing for a process it then failed to read
			}
			continue
		}
		if next == nil {
			next = make(map[int64]keptStat, len(fds))
		}
		pid := procs[i].PID
		next[pid] = keptStat{fd: fd, start: startTicks(procs[i].Start, s.btime)}
		if h, was := held[pid]; was && h.fd == fd {
			carried++
		}
	}
	if carried < len(held) {
		for pid, h := range held {
			if n, kept := next[pid]; !kept || n.fd != h.fd {
				closeFD(h.fd)
			}
		}
	}
	if next != nil {
		s.kept.put(next)
	}
}

// limit is how many descriptors a listing may keep.
func (k *keptStats) limit() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.max
}

// Get reads one process. A pid that does not exist, or names a thread rather than
// a process (thread ids also resolve under /proc), is ErrNotFound.
func (s *ProcFS) Get(ctx context.Context, pid int64) (Proc, error) {
	if err := ctx.Err(); err != nil {
		return Proc{}, err
	}
	if pid <= 0 || pid > 1<<31 {
		return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	p, err := s.reader().read(pid, true)
	if err != nil {
		if gone(err) {
			return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
		}
		return Proc{}, err
	}
	return p, nil
}

// gone reports whether err means the process no longer exists.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) || errors.Is(err, ErrNotFound)
}

// parsePID accepts a /proc entry name made of decimal digits only (at most 10).
func parsePID(name string) (int64, bool) {
	n, ok := decimal.Uint(name)
	return int64(n), ok && len(name) <= 10 && n > 0
}

// file returns <root>/proc/<pid>/<name> in r.path (valid until the next call).
func (r *procReader) file(pid int64, name string) string {
	b := append(r.path[:0], r.fs.proc...)
	b = append(b, '/')
	b = strconv.AppendInt(b, pid, 10)
	b = append(b, '/')
	b = append(b, name...)
	r.path = b
	return string(b)
}

// read reads one process: stat (ppid, start, comm), cmdline, exe and status (uid,
// and tgid when checkThread).
func (r *procReader) read(pid int64, checkThread bool) (Proc, error) {
	st, err := r.stat(pid)
	if err != nil {
		return Proc{}, err
	}
	p := Proc{
		PID:  pid,
		PPID: st.PPID,
		Name: st.Comm,
		Start: time.Unix(r.fs.btime, 0).Add(time.Duration(st.StartTicks) *
			(time.Second / ClockTicks)),
	}
	key := staticKey{pid, st.StartTicks}
	if !checkThread {
		if c, ok := r.fs.cached(key); ok && c.comm == st.Comm {
			if r.now.Sub(c.checked) < Revalidate {
				p.Name, p.Cmdline, p.Path, p.User, p.GUID = c.comm, c.cmdline, c.path, c.user, c.guid
				return p, nil
			}
			if owner, ok := ownerUID(r.file(pid, "")); ok && owner == c.owner {
				r.fs.touch(key, r.now)
				p.Name, p.Cmdline, p.Path, p.User, p.GUID = c.comm, c.cmdline, c.path, c.user, c.guid
				return p, nil
			}
		}
	}
	p.GUID = tree.DeriveGUID(r.fs.bootID, pid, int64(st.StartTicks))
	owner, hasOwner := ownerUID(r.file(pid, ""))
	b, err := readFile(r.file(pid, "status"), &r.buf, 4096)
	if err != nil {
		return Proc{}, err
	}
	uid, tgid, ok := parseStatus(b)
	if checkThread && tgid != 0 && tgid != pid {
		return Proc{}, fmt.Errorf("pid %d is a thread of %d: %w", pid, tgid, ErrNotFound)
	}
	if ok {
		p.User = r.userName(uid)
	}
	b, err = readFile(r.file(pid, "cmdline"), &r.buf, MaxCmdline)
	if err != nil {
		return Proc{}, err
	}
	p.Cmdline = cmdline.JoinNUL(b)
	if p.Cmdline == "" {
		p.Cmdline = "[" + p.Name + "]" // kernel thread or zombie, as ps shows them
	}
	if exe, err := readLink(r.file(pid, "exe")); err == nil {
		p.Path = exe // may end in " (deleted)": kept, it is worth seeing
	}
	if hasOwner {
		r.fs.remember(key, staticInfo{comm: st.Comm, cmdline: p.Cmdline, path: p.Path, user: p.User, guid: p.GUID, owner: owner, checked: r.now})
	}
	return p, nil
}

// stat reads and parses /proc/<pid>/stat: through the descriptor the previous
// listing kept for this process when it still reads as the same process, else
// from a fresh open, kept for the next listing while the budget allows.
func (r *procReader) stat(pid int64) (procStat, error) {
	r.keptFD = -1
	if h, ok := r.held[pid]; ok {
		b, err := preadFD(h.fd, "stat", &r.buf, 4096)
		if err == nil {
			if st, err := parseStat(b); err == nil && st.PID == pid && st.StartTicks == h.start {
				r.keptFD = h.fd
				return st, nil
			}
		}
		// Exited (the pid now names another process) or unreadable: the listing
		// closes it afterwards; read the pid anew.
		r.budget.Add(1)
	}
	r.rel = strconv.AppendInt(r.rel[:0], pid, 10)
	r.rel = append(r.rel, "/stat"...)
	var b []byte
	var err error
	if r.budget != nil && r.budget.Add(-1) >= 0 {
		fd, oerr := openAt(r.fs.dirFD(), r.fs.proc, string(r.rel))
		if oerr != nil {
			r.budget.Add(1)
			return procStat{}, oerr
		}
		if b, err = readFD(fd, r.fs.proc+"/"+string(r.rel), &r.buf, 4096); err != nil {
			r.budget.Add(1)
			closeFD(fd)
			return procStat{}, err
		}
		r.keptFD = fd
	} else {
		if r.budget != nil {
			r.budget.Add(1)
		}
		if b, err = readFileAt(r.fs.dirFD(), r.fs.proc, string(r.rel), &r.buf, 4096); err != nil {
			return procStat{}, err
		}
	}
	st, err := parseStat(b)
	if err != nil {
		return procStat{}, err
	}
	if st.PID != pid {
		return procStat{}, fmt.Errorf("pid %d: stat names pid %d", pid, st.PID)
	}
	return st, nil
}

// startTicks converts a start time back to clock ticks after boot (the cache key).
func startTicks(start time.Time, btime int64) uint64 {
	d := start.Sub(time.Unix(btime, 0))
	if d < 0 {
		return 0
	}
	return uint64(d / (time.Second / ClockTicks))
}

func (r *procReader) userName(uid uint32) string {
	if n, ok := r.users[uid]; ok {
		return n
	}
	return strconv.FormatUint(uint64(uid), 10)
}

// boot reads the boot id and boot time once.
func (s *ProcFS) boot() {
	s.bootOnce.Do(func() {
		if b, err := os.ReadFile(filepath.Join(s.proc, "sys", "kernel", "random", "boot_id")); err == nil {
			s.bootID = strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(filepath.Join(s.proc, "stat")); err == nil {
			s.btime = parseBtime(b)
		}
	})
}

// passwdRecheck is how often userNames looks at <root>/etc/passwd for changes
// (a point query reads several processes in a row).
const passwdRecheck = time.Second

// userNames returns uid → name from <root>/etc/passwd, re-read when the file
// changes. The map is never modified after it is returned.
func (s *ProcFS) userNames() map[uint32]string {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	now := time.Now()
	if s.users != nil && now.Sub(s.usersChecked) < passwdRecheck {
		return s.users
	}
	s.usersChecked = now
	fi, err := os.Stat(s.passwd)
	if err != nil {
		return s.users
	}
	stamp := passwdStamp{fi.ModTime(), fi.Size()}
	if s.users != nil && stamp == s.usersStamp {
		return s.users
	}
	b, err := os.ReadFile(s.passwd)
	if err != nil {
		return s.users
	}
	s.users, s.usersStamp = parsePasswd(b), stamp
	return s.users
}

// procStat is what we use of /proc/<pid>/stat.
type procStat struct {
	PID        int64
	Comm       string
	State      byte
	PPID       int64
	StartTicks uint64 // field 22: start time in clock ticks after boot
}

var errStat = errors.New("malformed stat")

// parseStat parses /proc/<pid>/stat: "pid (comm) state ppid ... starttime ...".
// comm may hold any byte but NUL, spaces and parentheses included, so it ends at
// the last ')'.
func parseStat(b []byte) (procStat, error) {
	var st procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return st, errStat
	}
	pid, ok := decimal.Int(bytes.TrimSpace(b[:open]))
	if !ok {
		return st, errStat
	}
	st.PID = pid
	st.Comm = string(b[open+1 : end])
	rest := b[end+1:]
	// Fields after comm, counted from 0: state(3) ppid(4) ... starttime(22).
	field := 0
	for i := 0; i < len(rest); {
		for i < len(rest) && rest[i] == ' ' {
			i++
		}
		j := i
		for j < len(rest) && rest[j] != ' ' && rest[j] != '\n' {
			j++
		}
		if j == i {
			break
		}
		f := rest[i:j]
		switch field {
		case 0:
			st.State = f[0]
		case 1:
			if st.PPID, ok = decimal.Int(f); !ok {
				return st, errStat
			}
		case 19:
			v, ok := decimal.Int(f)
			if !ok || v < 0 {
				return st, errStat
			}
			st.StartTicks = uint64(v)
			return st, nil
		}
		field++
		i = j
		if i < len(rest) && rest[i] == '\n' {
			break
		}
	}
	return st, errStat
}

// parseStatus returns the real uid and the tgid from /proc/<pid>/status.
func parseStatus(b []byte) (uid uint32, tgid int64, ok bool) {
	for line := range bytes.Lines(b) {
		switch {
		case bytes.HasPrefix(line, []byte("Tgid:")):
			tgid, _ = decimal.Int(bytes.TrimSpace(line[5:]))
		case bytes.HasPrefix(line, []byte("Uid:")):
			f := bytes.Fields(line[4:])
			if len(f) > 0 {
				if v, good := decimal.Int(f[0]); good && v >= 0 && v <= 1<<32-1 {
					uid, ok = uint32(v), true
				}
			}
			return uid, tgid, ok // Uid follows Tgid
		}
	}
	return uid, tgid, ok
}

// parseBtime returns the "btime" value of /proc/stat.
func parseBtime(b []byte) int64 {
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, _ := decimal.Int(bytes.TrimSpace(v))
			return n
		}
	}
	return 0
}

// parsePasswd maps uids to names from passwd(5) text.
func parsePasswd(b []byte) map[uint32]string {
	users := make(map[uint32]string)
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.SplitN(line, ":", 4)
		if len(f) < 4 || f[0] == "" {
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := users[uint32(uid)]; !dup { // the first entry wins, as in getpwuid
			users[uint32(uid)] = f[0]
		}
	}
	return users
}
