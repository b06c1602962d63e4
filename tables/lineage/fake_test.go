package lineage

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// fakeSource is a Source over a fixed process list that counts its calls.
type fakeSource struct {
	mu     sync.Mutex
	procs  map[int64]Proc
	order  []int64
	lists  int
	gets   []int64
	err    error // returned by List and by Get of errPID
	errPID int64
}

func newFake(procs ...Proc) *fakeSource {
	f := &fakeSource{procs: make(map[int64]Proc)}
	for _, p := range procs {
		f.procs[p.PID] = p
		f.order = append(f.order, p.PID)
	}
	return f
}

func (f *fakeSource) List(ctx context.Context) ([]Proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.err != nil && f.errPID == 0 {
		return nil, f.err
	}
	out := make([]Proc, 0, len(f.order))
	for _, pid := range f.order {
		out = append(out, f.procs[pid])
	}
	return out, nil
}

func (f *fakeSource) Get(ctx context.Context, pid int64) (Proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets = append(f.gets, pid)
	if f.err != nil && pid == f.errPID {
		return Proc{}, f.err
	}
	p, ok := f.procs[pid]
	if !ok {
		return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNotFound)
	}
	return p, nil
}

// fakeHistory remembers processes by pid, any number of incarnations.
type fakeHistory map[int64][]Proc

func (h fakeHistory) Lookup(_ context.Context, pid int64, start time.Time) (Proc, bool, error) {
	var best Proc
	found := false
	for _, p := range h[pid] {
		if !start.IsZero() && p.Start.After(start) {
			continue
		}
		if !found || p.Start.After(best.Start) {
			best, found = p, true
		}
	}
	return best, found, nil
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// proc builds a Proc with a path and command line derived from its name.
func proc(pid, ppid int64, name string, start int) Proc {
	return Proc{PID: pid, PPID: ppid, Name: name, Path: "/usr/bin/" + name, Cmdline: name, User: "root", Start: at(start)}
}
