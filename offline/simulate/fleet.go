package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/tables/evidence"
)

// HostPlan is one simulated host: who it is and what it answers from.
type HostPlan struct {
	Host  agentsim.Host
	Files []string // its evidence files; empty: benign background only
}

// Fleet is a planned fleet of simulated hosts with an engine each over their
// evidence (plus the benign background every host has); hosts with no evidence
// share one engine per platform.
type Fleet struct {
	Hosts   []HostPlan
	runners []agentsim.Runner // per host, limited to GOMAXPROCS queries at a time
	engines []*Runner         // to close
	dir     string            // the background files
}

// Open plans n hosts over the evidence in paths (files or folders, read like
// `exechunt sql`): with at least as many hosts as files, each file belongs to one
// host and the other hosts answer with background only; with fewer hosts, every
// host gets a share of the files, grouped by platform. A host's platform is its
// files' (linux for Sysmon for Linux, else windows); background-only hosts take
// the platforms in the evidence's proportions. Hostnames are prefix001… in order,
// and host UUIDs derive from them, so a second run re-enrolls the same hosts. The
// evidence is replayed as happening when Open returns (see Replayed), so hunts
// bounded to a time window find it.
func Open(paths []string, n int, prefix string, log *slog.Logger) (*Fleet, error) {
	if n < 1 {
		return nil, fmt.Errorf("simulate: %d hosts: want at least 1", n)
	}
	found, _, err := evidence.Collect(paths)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no evidence files (.evtx, .json, .jsonl, syslog) in %v", paths)
	}
	files := make([]evidenceFile, len(found))
	for i, f := range found {
		p, err := platformOf(f.Path)
		if err != nil {
			return nil, err
		}
		files[i] = evidenceFile{f.Path, p}
	}
	dir, err := os.MkdirTemp("", "exechunt-simulate-")
	if err != nil {
		return nil, err
	}
	fl := &Fleet{Hosts: plan(files, n, prefix), dir: dir}
	background, err := writeBackground(dir, time.Now().Add(-time.Hour))
	if err != nil {
		fl.Close()
		return nil, err
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	start := time.Now()
	shared := map[string]agentsim.Runner{}
	for _, h := range fl.Hosts {
		r := shared[h.Host.Platform]
		if r == nil || len(h.Files) > 0 {
			e, err := NewRunner(append(slices.Clone(h.Files), background[h.Host.Platform]), log)
			if err != nil {
				fl.Close()
				return nil, fmt.Errorf("host %s: %w", h.Host.Hostname, err)
			}
			fl.engines = append(fl.engines, e)
			r = Replayed(limited{e, sem}, start)
			if len(h.Files) == 0 {
				shared[h.Host.Platform] = r
			}
		}
		fl.runners = append(fl.runners, r)
	}
	return fl, nil
}

// Agents returns one agent per host, configured like c (server, client, secret,
// intervals, counters) with the host, its runner and the pushed schedule run.
func (f *Fleet) Agents(c agentsim.Config) []*agentsim.Agent {
	out := make([]*agentsim.Agent, len(f.Hosts))
	for i, h := range f.Hosts {
		hc := c
		hc.Host, hc.Runner, hc.RunSchedule = h.Host, f.runners[i], true
		out[i] = agentsim.New(hc)
	}
	return out
}

// Close releases the engines and removes the background files.
func (f *Fleet) Close() error {
	var errs []error
	for _, e := range f.engines {
		errs = append(errs, e.Close())
	}
	errs = append(errs, os.RemoveAll(f.dir))
	return errors.Join(errs...)
}

type evidenceFile struct{ path, platform string }

// platformOf tells Sysmon for Linux evidence (linux) from Windows logs (windows)
// by the provider name in the file's first MiB.
func platformOf(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	defer fh.Close()
	head, err := io.ReadAll(io.LimitReader(fh, 1<<20))
	if err != nil {
		return "", fmt.Errorf("evidence %s: %w", path, err)
	}
	if bytes.Contains(head, []byte("Linux-Sysmon")) {
		return "linux", nil
	}
	return "windows", nil
}

// plan assigns files to n hosts (see Open).
func plan(files []evidenceFile, n int, prefix string) []HostPlan {
	hosts := make([]HostPlan, n)
	width := max(3, len(strconv.Itoa(n)))
	for i := range hosts {
		name := fmt.Sprintf("%s%0*d", prefix, width, i+1)
		sum := sha256.Sum256([]byte("exechunt-simulate/" + name))
		uuid := fmt.Sprintf("%X-%X-%X-%X-%X", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
		hosts[i].Host = agentsim.Host{Hostname: name, UUID: uuid}
	}
	if n >= len(files) {
		for i := range hosts {
			if i < len(files) {
				hosts[i].Files = []string{files[i].path}
			}
			hosts[i].Host.Platform = files[i%len(files)].platform
		}
		return hosts
	}
	// Fewer hosts than files: each platform gets hosts in proportion to its files
	// (at least one), and its hosts share its files in contiguous blocks.
	groups := map[string][]evidenceFile{}
	for _, f := range files {
		groups[f.platform] = append(groups[f.platform], f)
	}
	platforms := slices.Sorted(maps.Keys(groups))
	if n < len(platforms) { // one host: it answers from everything, as the platform of most files
		platforms, groups = []string{majority(files)}, map[string][]evidenceFile{majority(files): files}
	}
	alloc := make([]int, len(platforms))
	sum := 0
	for i, p := range platforms {
		alloc[i] = max(1, n*len(groups[p])/len(files))
		sum += alloc[i]
	}
	for ; sum < n; sum++ { // give a host to the platform with the most files per host
		best := 0
		for i, p := range platforms {
			if len(groups[p])*alloc[best] > len(groups[platforms[best]])*alloc[i] {
				best = i
			}
		}
		alloc[best]++
	}
	next := 0
	for i, p := range platforms {
		g := groups[p]
		for k := range alloc[i] {
			h := &hosts[next]
			next++
			h.Host.Platform = p
			for _, f := range g[k*len(g)/alloc[i] : (k+1)*len(g)/alloc[i]] {
				h.Files = append(h.Files, f.path)
			}
		}
	}
	return hosts
}

// majority is the platform of most of files.
func majority(files []evidenceFile) string {
	linux := 0
	for _, f := range files {
		if f.platform == "linux" {
			linux++
		}
	}
	if 2*linux > len(files) {
		return "linux"
	}
	return "windows"
}

// limited runs a runner's queries at most cap(sem) at a time across the fleet:
// hundreds of hosts answering one live query must not take every core from the
// server they talk to.
type limited struct {
	r   agentsim.Runner
	sem chan struct{}
}

// Run implements agentsim.Runner.
func (l limited) Run(ctx context.Context, sql string) ([]map[string]string, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.sem }()
	return l.r.Run(ctx, sql)
}
