package eventtables

import (
	"context"
	"sort"
	"time"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/internal/lru"
)

// Process is what the Store remembers of a process creation, for live tables that
// need history: the command line of a running process, or an ancestor that exited.
type Process struct {
	PID, PPID          int64
	Image, Cmdline     string
	User, GUID         string
	ParentGUID, Parent string // parent's GUID and image
	Start              time.Time
}

// pidRef points from a pid to one of its incarnations in the lineage index.
type pidRef struct {
	key   string
	start time.Time
}

// maxIncarnations bounds how many incarnations of one pid are remembered.
const maxIncarnations = 4

// pidIndex maps pids (of every computer: a live host has one) to their latest
// incarnations, bounded by count.
type pidIndex struct {
	cache *lru.Cache[int64, []pidRef]
}

func newPIDIndex(entries int) *pidIndex {
	return &pidIndex{cache: lru.New[int64, []pidRef](entries, 0, nil)}
}

func (x *pidIndex) add(e *event.Event, key string) { x.addRef(e.PID, key, e.Time) }

func (x *pidIndex) addRef(pid int64, key string, start time.Time) {
	refs, _ := x.cache.Peek(pid)
	refs = append(refs, pidRef{key, start})
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].start.Before(refs[j].start) })
	if len(refs) > maxIncarnations {
		refs = refs[len(refs)-maxIncarnations:]
	}
	x.cache.Add(pid, refs)
}

// Lookup returns the latest process creation of pid that started at or before start
// (plus a two-second allowance for clock differences between the event log and the
// live process table). It reads what the sources gained since the last query first.
func (s *Store) Lookup(pid int64, start time.Time) (Process, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.refreshThrottled(ctx); err != nil {
		return Process{}, false
	}
	refs, ok := s.pids.cache.Get(pid)
	if !ok {
		return Process{}, false
	}
	limit := start.Add(2 * time.Second)
	for i := len(refs) - 1; i >= 0; i-- {
		r := refs[i]
		if !start.IsZero() && r.start.After(limit) {
			continue
		}
		n, ok := s.scorer.lineage.cache.Peek(r.key)
		if !ok {
			continue
		}
		guid := ""
		if len(r.key) > 2 && r.key[0] == 'g' {
			guid = r.key[2:]
		}
		parentGUID := ""
		if len(n.parentKey) > 2 && n.parentKey[0] == 'g' {
			parentGUID = n.parentKey[2:]
		}
		return Process{PID: n.pid, PPID: n.ppid, Image: n.image, Cmdline: n.cmdline, User: n.user, GUID: guid,
			ParentGUID: parentGUID, Parent: n.parentImage, Start: n.time}, true
	}
	return Process{}, false
}

// refreshThrottled refreshes at most once a second: a process_lineage query looks up
// many pids. Callers hold s.mu.
func (s *Store) refreshThrottled(ctx context.Context) error {
	if time.Since(s.lastRefresh) < time.Second {
		return nil
	}
	return s.refresh(ctx)
}
