//go:build darwin

package lineage

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultSource returns the live processes of this machine from sysctl, best
// effort: path and command line only where kern.procargs2 is permitted (other
// users' processes need root).
func DefaultSource() Source { return &darwinSource{users: make(map[uint32]string)} }

type darwinSource struct {
	mu    sync.Mutex
	users map[uint32]string
}

func (s *darwinSource) List(ctx context.Context) ([]Proc, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("sysctl kern.proc.all: %w", err)
	}
	procs := make([]Proc, 0, len(kps))
	for i := range kps {
		if i&63 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		procs = append(procs, s.proc(&kps[i]))
	}
	return procs, nil
}

func (s *darwinSource) Get(ctx context.Context, pid int64) (Proc, error) {
	if err := ctx.Err(); err != nil {
		return Proc{}, err
	}
	if pid < 0 || pid > 1<<31-1 {
		return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	if err != nil || kp.Proc.P_pid != int32(pid) {
		if err == nil || errors.Is(err, unix.EIO) || errors.Is(err, unix.ESRCH) {
			return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
		}
		return Proc{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, err)
	}
	return s.proc(kp), nil
}

func (s *darwinSource) proc(kp *unix.KinfoProc) Proc {
	p := Proc{
		PID:  int64(kp.Proc.P_pid),
		PPID: int64(kp.Eproc.Ppid),
		Name: unix.ByteSliceToString(kp.Proc.P_comm[:]),
		User: s.userName(kp.Eproc.Pcred.P_ruid),
	}
	if st := kp.Proc.P_starttime; st.Sec > 0 {
		p.Start = time.Unix(int64(st.Sec), int64(st.Usec)*1000)
	}
	if p.PID > 0 {
		if b, err := unix.SysctlRaw("kern.procargs2", int(p.PID)); err == nil {
			if path, cmd, ok := parseProcArgs(b); ok {
				p.Path, p.Cmdline = path, cmd
			}
		}
	}
	return p
}

func (s *darwinSource) userName(uid uint32) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.users[uid]; ok {
		return n
	}
	name := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	if len(s.users) < 4096 {
		s.users[uid] = name
	}
	return name
}
