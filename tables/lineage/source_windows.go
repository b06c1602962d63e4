//go:build windows

package lineage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// DefaultSource returns the live processes of this machine: a Toolhelp snapshot
// enriched per process (see doc.go).
func DefaultSource() Source { return &winSource{accounts: make(map[string]string)} }

type winSource struct {
	mu       sync.Mutex
	accounts map[string]string // SID → DOMAIN\user
}

// stillActive is GetExitCodeProcess's value for a running process (STILL_ACTIVE).
const stillActive = 259

// List takes one snapshot of every process and opens each to read its path,
// creation time, user and command line; fields that cannot be read stay empty.
func (s *winSource) List(ctx context.Context) ([]Proc, error) {
	entries, err := snapshot()
	if err != nil {
		return nil, err
	}
	procs := make([]Proc, 0, len(entries))
	for i := range entries {
		if i&63 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		e := &entries[i]
		p := Proc{PID: int64(e.ProcessID), PPID: int64(e.ParentProcessID), Name: windows.UTF16ToString(e.ExeFile[:])}
		if p.PID == 0 {
			p.PPID = 0 // the idle process names itself as parent
		}
		if h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, e.ProcessID); err == nil {
			s.fill(h, &p)
			windows.CloseHandle(h)
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// Get opens the process directly (its parent id from ProcessBasicInformation), and
// falls back to a snapshot for processes that cannot be opened (System, protected
// processes, other users' processes without privilege).
func (s *winSource) Get(ctx context.Context, pid int64) (Proc, error) {
	if err := ctx.Err(); err != nil {
		return Proc{}, err
	}
	if pid < 0 || pid > 0xFFFFFFFF {
		return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	if pid != 0 {
		if h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid)); err == nil {
			p, ok := s.open(h, pid)
			windows.CloseHandle(h)
			if ok {
				return p, nil
			}
		}
	}
	entries, err := snapshot()
	if err != nil {
		return Proc{}, err
	}
	for i := range entries {
		e := &entries[i]
		if int64(e.ProcessID) != pid {
			continue
		}
		p := Proc{PID: pid, PPID: int64(e.ParentProcessID), Name: windows.UTF16ToString(e.ExeFile[:])}
		if pid == 0 {
			p.PPID = 0
		}
		if h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, e.ProcessID); err == nil {
			s.fill(h, &p)
			windows.CloseHandle(h)
		}
		return p, nil
	}
	return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
}

// open reads a process through an open handle; ok is false when it has exited or
// its parent id cannot be read.
func (s *winSource) open(h windows.Handle, pid int64) (Proc, bool) {
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil || code != stillActive {
		return Proc{}, false
	}
	var pbi windows.PROCESS_BASIC_INFORMATION
	if err := windows.NtQueryInformationProcess(h, windows.ProcessBasicInformation,
		unsafe.Pointer(&pbi), uint32(unsafe.Sizeof(pbi)), nil); err != nil {
		return Proc{}, false
	}
	p := Proc{PID: pid, PPID: int64(pbi.InheritedFromUniqueProcessId)}
	s.fill(h, &p)
	if p.Path == "" {
		return Proc{}, false // no name either: let the snapshot answer
	}
	p.Name = p.Path[strings.LastIndexAny(p.Path, `\/`)+1:]
	return p, true
}

// snapshot lists every process with its parent id and image name.
func snapshot() ([]windows.ProcessEntry32, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("process snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	var out []windows.ProcessEntry32
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		out = append(out, e)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("process snapshot: %w", err)
	}
	return out, nil
}

// fill reads what a PROCESS_QUERY_LIMITED_INFORMATION handle allows: image path,
// creation time, token user and command line.
func (s *winSource) fill(h windows.Handle, p *Proc) {
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err == nil {
		p.Path = windows.UTF16ToString(buf[:n])
	}
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err == nil && created.Nanoseconds() > 0 {
		p.Start = time.Unix(0, created.Nanoseconds())
	}
	p.User = s.user(h)
	p.Cmdline = commandLine(h)
}

// user returns DOMAIN\name of the process token's user, or its SID.
func (s *winSource) user(h windows.Handle) string {
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return ""
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return ""
	}
	sid := tu.User.Sid.String()
	s.mu.Lock()
	name, ok := s.accounts[sid]
	s.mu.Unlock()
	if ok {
		return name
	}
	name = sid
	if account, domain, _, err := tu.User.Sid.LookupAccount(""); err == nil {
		name = account
		if domain != "" {
			name = domain + `\` + account
		}
	}
	s.mu.Lock()
	if len(s.accounts) < 4096 {
		s.accounts[sid] = name
	}
	s.mu.Unlock()
	return name
}

// maxWinCmdline bounds the command-line buffer (the limit is 32767 UTF-16 units).
const maxWinCmdline = 1 << 17

// commandLine asks the kernel for the process's command line
// (ProcessCommandLineInformation, Windows 8.1+): it is copied into our buffer as a
// UNICODE_STRING followed by its characters, so no foreign memory is read. The
// string's pointer is bounds-checked against the buffer before use.
func commandLine(h windows.Handle) string {
	var need uint32
	_ = windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation, nil, 0, &need)
	if need == 0 || need > maxWinCmdline {
		need = 4096
	}
	words := make([]uint64, (need+7)/8) // 8-byte aligned for the UNICODE_STRING header
	size := uint32(len(words) * 8)
	if err := windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation,
		unsafe.Pointer(&words[0]), size, &need); err != nil {
		return ""
	}
	us := (*windows.NTUnicodeString)(unsafe.Pointer(&words[0]))
	if us.Buffer == nil || us.Length == 0 {
		return ""
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), size)
	off := uintptr(unsafe.Pointer(us.Buffer)) - uintptr(unsafe.Pointer(&words[0]))
	n := uintptr(us.Length) &^ 1
	if off < unsafe.Sizeof(*us) || off > uintptr(size) || n > uintptr(size)-off {
		return ""
	}
	u16 := make([]uint16, n/2)
	for i := range u16 {
		u16[i] = uint16(raw[off+2*uintptr(i)]) | uint16(raw[off+2*uintptr(i)+1])<<8
	}
	return windows.UTF16ToString(u16)
}
