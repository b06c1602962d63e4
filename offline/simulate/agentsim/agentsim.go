// Package agentsim simulates osquery agents speaking the TLS remote API the way
// osqueryd does: enroll (secret, host_identifier, platform_type as a string,
// host_details), config refresh, distributed read → run every query → one write
// (queries, statuses, messages, stats), and result/status logs in event format
// with the NodeKey header (osquery ≥ 5.23) and gzip bodies. It serves `exechunt
// simulate`, tests and load benchmarks; SQL is answered by a Runner (package
// simulate runs the offline engine over per-host evidence, so answers are real
// rows). It links no table code, so orchestrator tests use it as they are.
package agentsim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Runner answers a distributed query with rows whose values are strings.
type Runner interface {
	Run(ctx context.Context, sql string) ([]map[string]string, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, sql string) ([]map[string]string, error)

// Run implements Runner.
func (f RunnerFunc) Run(ctx context.Context, sql string) ([]map[string]string, error) {
	return f(ctx, sql)
}

// Host describes the simulated host.
type Host struct {
	Hostname string
	UUID     string
	Platform string // windows, linux or darwin
}

// platformType is osquery's bitmask as the string osquery sends.
func (h Host) platformType() string {
	switch h.Platform {
	case "windows":
		return "2"
	case "darwin":
		return "21"
	default:
		return "9"
	}
}

// Config configures an Agent.
type Config struct {
	Server       string       // https://host:port
	Prefix       string       // default /api/v1/osquery
	HTTP         *http.Client // must trust the server
	EnrollSecret string
	Host         Host
	Runner       Runner // nil: every query returns no rows
	// ResultLines returns result log lines (event format) to send at each log
	// period; nil sends none.
	ResultLines func(h Host, counter int) []map[string]any
	Stats       *Stats // optional latency recorder
	// DistributedInterval and LogInterval pace Run (defaults 10s and 10s);
	// Jitter spreads the first tick over the interval.
	DistributedInterval, LogInterval time.Duration
	Gzip                             bool // compress log bodies like --logger_tls_compress
	// RunSchedule runs the schedule of the packs (and "schedule") the config
	// pushes through Runner, as osqueryd does, and sends the results at the log
	// period: every query first at the log tick after the config, then every
	// interval; differential queries send the rows added and removed, snapshot
	// queries all rows.
	RunSchedule bool
	Counters    *Counters // optional: what the agent did, for progress lines
}

// Agent is one simulated osqueryd.
type Agent struct {
	c          Config
	nodeKey    string
	counter    int
	accelUntil time.Time
	configured bool      // fetched a config (Run fetches one first otherwise)
	nextConfig time.Time // when Run fetches the config again (config_refresh)
	enrolled   bool      // counted in Counters.Enrolled
	schedule   []*scheduled
	maxLines   int // result lines per log request (logger_tls_max_lines)
}

// New returns an agent; call Enroll (or Run) to start.
func New(c Config) *Agent {
	if c.Prefix == "" {
		c.Prefix = "/api/v1/osquery"
	}
	if c.DistributedInterval <= 0 {
		c.DistributedInterval = 10 * time.Second
	}
	if c.LogInterval <= 0 {
		c.LogInterval = 10 * time.Second
	}
	return &Agent{c: c}
}

// gzipWriters compress at BestSpeed: the simulator shares the machine with the
// server it measures, and the server inflates any level at the same cost.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// ErrNodeInvalid means the server answered node_invalid (the agent re-enrolls).
var ErrNodeInvalid = errors.New("agentsim: node_invalid")

func (a *Agent) post(ctx context.Context, endpoint string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	var rd io.Reader = bytes.NewReader(b)
	gz := a.c.Gzip && endpoint == "/log"
	if gz {
		// A compressor holds about a megabyte of state: reuse them, or thousands of
		// simulated agents spend their CPU allocating and collecting those.
		zw := gzipWriters.Get().(*gzip.Writer)
		var buf bytes.Buffer
		zw.Reset(&buf)
		zw.Write(b)
		zw.Close()
		gzipWriters.Put(zw)
		rd = &buf
	}
	req, err := http.NewRequestWithContext(ctx, "POST", a.c.Server+a.c.Prefix+endpoint, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "osquery/5.23.1")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if a.nodeKey != "" {
		req.Header.Set("Authorization", "NodeKey "+a.nodeKey)
	}
	start := time.Now()
	res, err := a.c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(res.Body)
	a.c.Stats.Record(endpoint, time.Since(start), err == nil && res.StatusCode == 200)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("agentsim: %s: HTTP %d: %.200s", endpoint, res.StatusCode, rb)
	}
	var inv struct {
		NodeInvalid bool `json:"node_invalid"`
	}
	if json.Unmarshal(rb, &inv) == nil && inv.NodeInvalid {
		a.nodeKey = ""
		return ErrNodeInvalid
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// Enroll gets a node key.
func (a *Agent) Enroll(ctx context.Context) error {
	h := a.c.Host
	osv := map[string]string{"name": "Ubuntu", "platform": "ubuntu", "version": "24.04.1 LTS (Noble Numbat)", "major": "24"}
	switch h.Platform {
	case "windows":
		osv = map[string]string{"name": "Microsoft Windows 11 Enterprise", "platform": "windows", "version": "10.0.22631", "major": "10"}
	case "darwin":
		osv = map[string]string{"name": "macOS", "platform": "darwin", "version": "15.5", "major": "15"}
	}
	req := map[string]any{
		"enroll_secret":   a.c.EnrollSecret,
		"host_identifier": h.UUID,
		"platform_type":   h.platformType(),
		"host_details": map[string]any{
			"os_version":    osv,
			"osquery_info":  map[string]string{"version": "5.23.1", "uuid": h.UUID, "build_platform": h.Platform},
			"system_info":   map[string]string{"hostname": h.Hostname, "uuid": h.UUID, "cpu_brand": "Simulated CPU"},
			"platform_info": map[string]string{"vendor": "agentsim"},
		},
	}
	var resp struct {
		NodeKey string `json:"node_key"`
	}
	if err := a.post(ctx, "/enroll", req, &resp); err != nil {
		return err
	}
	if resp.NodeKey == "" {
		return errors.New("agentsim: enroll: empty node key")
	}
	a.nodeKey = resp.NodeKey
	if !a.enrolled {
		a.enrolled = true
		a.c.Counters.count(enrolled, 1)
	}
	return nil
}

// Config fetches the configuration; with RunSchedule its packs become the
// agent's schedule.
func (a *Agent) Config(ctx context.Context) (map[string]any, error) {
	var cfg map[string]any
	err := a.post(ctx, "/config", map[string]string{"node_key": a.nodeKey}, &cfg)
	if err == nil {
		a.configured = true
		refresh := 300 * time.Second // osquery's config_refresh of the orchestrator's default options
		if opts, ok := cfg["options"].(map[string]any); ok {
			if r, ok := opts["config_refresh"].(float64); ok && r > 0 {
				refresh = time.Duration(r) * time.Second
			}
		}
		a.nextConfig = time.Now().Add(refresh)
		if a.c.RunSchedule {
			a.setSchedule(cfg, time.Now())
		}
	}
	return cfg, err
}

// Distributed does one read and, when it got queries, runs them all and writes
// once, like osquery's DistributedRunner. It returns the number of queries run.
func (a *Agent) Distributed(ctx context.Context) (int, error) {
	var rd struct {
		Queries    map[string]string `json:"queries"`
		Discovery  map[string]string `json:"discovery"`
		Accelerate int               `json:"accelerate"`
	}
	if err := a.post(ctx, "/distributed/read", map[string]string{"node_key": a.nodeKey}, &rd); err != nil {
		return 0, err
	}
	if rd.Accelerate > 0 {
		a.accelUntil = time.Now().Add(time.Duration(rd.Accelerate) * time.Second)
	}
	if len(rd.Queries) == 0 {
		return 0, nil
	}
	queries := map[string][]map[string]string{}
	statuses := map[string]int{}
	messages := map[string]string{}
	stats := map[string]map[string]int64{}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range rd.Queries {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		if d := rd.Discovery[name]; d != "" {
			rows, err := a.run(ctx, d)
			if err != nil || len(rows) == 0 {
				continue // osquery leaves the query out of the write
			}
		}
		start := time.Now()
		rows, err := a.run(ctx, rd.Queries[name])
		if err != nil {
			statuses[name], messages[name], queries[name] = 1, err.Error(), []map[string]string{}
			continue
		}
		if rows == nil {
			rows = []map[string]string{}
		}
		queries[name], statuses[name], messages[name] = rows, 0, ""
		stats[name] = map[string]int64{"wall_time_ms": time.Since(start).Milliseconds(), "user_time": 0, "system_time": 0, "memory": 0}
	}
	a.c.Counters.count(answered, int64(len(names)))
	return len(names), a.post(ctx, "/distributed/write", map[string]any{"node_key": a.nodeKey, "queries": queries,
		"statuses": statuses, "messages": messages, "stats": stats}, nil)
}

func (a *Agent) run(ctx context.Context, sql string) ([]map[string]string, error) {
	if a.c.Runner == nil {
		return nil, nil
	}
	return a.c.Runner.Run(ctx, sql)
}

// Log sends one batch of result lines, those of ResultLines and of the scheduled
// queries due (at most logger_tls_max_lines a request), and a status line.
func (a *Agent) Log(ctx context.Context) error {
	if a.c.ResultLines == nil && len(a.schedule) == 0 {
		return nil
	}
	a.counter++
	var lines []map[string]any
	if a.c.ResultLines != nil {
		lines = a.c.ResultLines(a.c.Host, a.counter)
	}
	lines = append(lines, a.runSchedule(ctx, time.Now())...)
	if len(lines) == 0 {
		return nil
	}
	batch := a.maxLines
	if batch <= 0 {
		batch = 1024
	}
	for chunk := range slices.Chunk(lines, batch) {
		if err := a.post(ctx, "/log", map[string]any{"node_key": a.nodeKey, "log_type": "result", "data": chunk}, nil); err != nil {
			return err
		}
		a.c.Counters.count(resultRows, resultRowCount(chunk))
	}
	status := []map[string]any{{"hostIdentifier": a.c.Host.UUID, "calendarTime": time.Now().UTC().Format(time.ANSIC) + " UTC",
		"unixTime": time.Now().Unix(), "severity": 0, "filename": "scheduler.cpp", "line": 85,
		"message": fmt.Sprintf("Executing scheduled query pack_execution-basics: %d", a.counter), "version": "5.23.1"}}
	return a.post(ctx, "/log", map[string]any{"node_key": a.nodeKey, "log_type": "status", "data": status}, nil)
}

// Run enrolls, fetches the config, then polls distributed reads and sends logs at
// their intervals (every 5 s while the server asks to accelerate), fetching the
// config again every config_refresh, until ctx ends.
// It re-enrolls on node_invalid and retries errors at the next tick.
func (a *Agent) Run(ctx context.Context) error {
	for a.nodeKey == "" {
		if err := a.Enroll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			a.c.Counters.fail(err)
			if !sleep(ctx, time.Second) {
				return nil
			}
		}
	}
	// Spread agents over the interval like osquery's splay.
	nextD := time.Now().Add(time.Duration(rand.Int64N(int64(a.c.DistributedInterval))))
	nextL := time.Now().Add(time.Duration(rand.Int64N(int64(a.c.LogInterval))))
	for {
		next := nextD
		if nextL.Before(next) {
			next = nextL
		}
		if !sleep(ctx, time.Until(next)) {
			return nil
		}
		now := time.Now()
		var err error
		if !now.Before(nextD) {
			// osqueryd fetches its config once started (splayed here), then every
			// config_refresh: a hunt pushed since reaches its schedule.
			if !a.configured || !now.Before(a.nextConfig) {
				_, _ = a.Config(ctx)
			}
			_, err = a.Distributed(ctx)
			iv := a.c.DistributedInterval
			if now.Before(a.accelUntil) && iv > 5*time.Second {
				iv = 5 * time.Second
			}
			nextD = now.Add(iv)
		}
		if !now.Before(nextL) {
			if e := a.Log(ctx); err == nil {
				err = e
			}
			nextL = now.Add(a.c.LogInterval)
		}
		if err != nil && ctx.Err() == nil {
			a.c.Counters.fail(err)
		}
		if errors.Is(err, ErrNodeInvalid) {
			for a.nodeKey == "" && ctx.Err() == nil {
				if a.Enroll(ctx) != nil && !sleep(ctx, time.Second) {
					return nil
				}
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Stats records request latencies per endpoint; a nil *Stats records nothing.
type Stats struct {
	mu   sync.Mutex
	lat  map[string][]time.Duration
	errs map[string]int
	slow []slowRequest // requests over SlowThreshold, in completion order
}

// SlowThreshold is the latency above which a request is kept for Slow.
const SlowThreshold = 50 * time.Millisecond

type slowRequest struct {
	endpoint string
	done     time.Time
	d        time.Duration
}

// NewStats returns an empty recorder.
func NewStats() *Stats { return &Stats{lat: map[string][]time.Duration{}, errs: map[string]int{}} }

// Record adds one request.
func (s *Stats) Record(endpoint string, d time.Duration, ok bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.lat[endpoint] = append(s.lat[endpoint], d)
	if !ok {
		s.errs[endpoint]++
	}
	if d > SlowThreshold {
		s.slow = append(s.slow, slowRequest{endpoint, time.Now(), d})
	}
	s.mu.Unlock()
}

// Slow returns, per window of the given length after start, how many requests took
// longer than SlowThreshold and the slowest of them: where in a run the tail is.
func (s *Stats) Slow(start time.Time, window time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type bucket struct {
		n     map[string]int
		worst time.Duration
	}
	var bs []bucket
	for _, r := range s.slow {
		i := int(r.done.Sub(start) / window)
		if i < 0 {
			continue
		}
		for len(bs) <= i {
			bs = append(bs, bucket{n: map[string]int{}})
		}
		bs[i].n[r.endpoint]++
		bs[i].worst = max(bs[i].worst, r.d)
	}
	var out []string
	for i, b := range bs {
		if len(b.n) == 0 {
			continue
		}
		eps := slices.Sorted(maps.Keys(b.n))
		var parts []string
		for _, ep := range eps {
			parts = append(parts, fmt.Sprintf("%s %d", ep, b.n[ep]))
		}
		out = append(out, fmt.Sprintf("%v-%v: %s (worst %v)", time.Duration(i)*window, time.Duration(i+1)*window,
			strings.Join(parts, ", "), b.worst.Round(time.Millisecond)))
	}
	return out
}

// Summary is the latency of one endpoint.
type Summary struct {
	Endpoint      string
	Count, Errors int
	P50, P99, Max time.Duration
}

// Summaries returns one summary per endpoint, sorted by name.
func (s *Stats) Summaries() []Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Summary
	for ep, ds := range s.lat {
		d := slices.Clone(ds)
		slices.Sort(d)
		q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
		out = append(out, Summary{Endpoint: ep, Count: len(d), Errors: s.errs[ep], P50: q(0.50), P99: q(0.99), Max: d[len(d)-1]})
	}
	slices.SortFunc(out, func(a, b Summary) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return out
}

// Reset forgets everything recorded so far.
func (s *Stats) Reset() {
	s.mu.Lock()
	s.lat, s.errs, s.slow = map[string][]time.Duration{}, map[string]int{}, nil
	s.mu.Unlock()
}

// Total is the number of requests recorded.
func (s *Stats) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ds := range s.lat {
		n += len(ds)
	}
	return n
}
