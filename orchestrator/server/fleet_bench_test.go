package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/agentsim"
)

// fleetResult is one measured run of the fleet load.
type fleetResult struct {
	hosts    int
	dur      time.Duration
	requests int
	cpu      time.Duration // orchestrator user+system CPU during the measured window
	rss      int64         // orchestrator VmHWM (peak RSS), bytes
	stats    []agentsim.Summary
	liveRows int
	err      error
}

var (
	fleetMu   sync.Mutex
	fleetRuns = map[int]*fleetResult{}
)

// BenchmarkFleet runs the built exechunt serve in a temp data dir (SQLite) and
// drives it with simulated agents on the same machine: distributed read every
// 10 s, result + status logs every 10 s, plus a live query to every host in the
// middle of the run. It reports requests/s, p50/p99 per endpoint, the server's
// CPU (cores used) and peak RSS. The run happens once per size however many times
// the framework calls the benchmark. EXECHUNT_BENCH_DURATION sets the measured
// window (default 30s); EXECHUNT_BENCH_HOSTS a comma-separated list of sizes.
func BenchmarkFleet(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads the server's CPU and RSS from /proc")
	}
	sizes := []int{1000, 5000}
	if s := os.Getenv("EXECHUNT_BENCH_HOSTS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatalf("EXECHUNT_BENCH_HOSTS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	dur := 30 * time.Second
	if s := os.Getenv("EXECHUNT_BENCH_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		dur = d
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			fleetMu.Lock()
			r, ok := fleetRuns[n]
			if !ok {
				r = runFleet(b, n, dur)
				fleetRuns[n] = r
			}
			fleetMu.Unlock()
			if r.err != nil {
				b.Fatal(r.err)
			}
			b.ReportMetric(float64(r.requests)/r.dur.Seconds(), "req/s")
			b.ReportMetric(r.cpu.Seconds()/r.dur.Seconds(), "server-cores")
			b.ReportMetric(float64(r.rss)/(1<<20), "server-peak-RSS-MiB")
			var worst time.Duration
			for _, s := range r.stats {
				name := strings.ReplaceAll(strings.Trim(s.Endpoint, "/"), "/", "-")
				b.ReportMetric(float64(s.P50.Microseconds())/1000, name+"-p50-ms")
				b.ReportMetric(float64(s.P99.Microseconds())/1000, name+"-p99-ms")
				worst = max(worst, s.P99)
				if s.Errors > 0 {
					b.Errorf("%s: %d failed requests of %d", s.Endpoint, s.Errors, s.Count)
				}
			}
			b.ReportMetric(float64(r.liveRows), "live-rows")
			if !ok {
				b.Logf("%d hosts, %s: %d requests (%.0f/s), server CPU %.2f cores, peak RSS %.0f MiB, worst p99 %s",
					n, r.dur, r.requests, float64(r.requests)/r.dur.Seconds(), r.cpu.Seconds()/r.dur.Seconds(),
					float64(r.rss)/(1<<20), worst)
				for _, s := range r.stats {
					b.Logf("  %-20s n=%-7d p50=%-10s p99=%-10s max=%s", s.Endpoint, s.Count, s.P50, s.P99, s.Max)
				}
			}
		})
	}
}

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil // USER_HZ = 100
}

func procHWM(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func runFleet(b *testing.B, n int, dur time.Duration) *fleetResult {
	r := &fleetResult{hosts: n}
	dir := b.TempDir()
	bin := filepath.Join(dir, "exechunt")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/exechunt").CombinedOutput(); err != nil {
		r.err = fmt.Errorf("go build: %v\n%s", err, out)
		return r
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data)
	srv.Env = append(os.Environ(), "EXECHUNT_ENROLL_SECRET=bench-secret", "EXECHUNT_ADMIN_TOKEN=bench-token")
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		r.err = err
		return r
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	var url string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
			url = strings.Fields(u)[0]
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	ca, err := os.ReadFile(filepath.Join(data, "tls", "server.crt"))
	if err != nil {
		r.err = err
		return r
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	// Agents share a keep-alive pool (osqueryd keeps one connection per plugin).
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConns: 10000, MaxIdleConnsPerHost: 10000}}
	defer hc.CloseIdleConnections()

	stats := agentsim.NewStats()
	rows := agentsim.SyntheticRows(3)
	agents := make([]*agentsim.Agent, n)
	// Enroll first (not measured), 32 at a time.
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var enrollErr error
	var mu sync.Mutex
	for i := range agents {
		agents[i] = agentsim.New(agentsim.Config{Server: url, HTTP: hc, EnrollSecret: "bench-secret",
			Host:        agentsim.Host{Hostname: fmt.Sprintf("sim-%05d", i), UUID: fmt.Sprintf("SIM-%05d", i), Platform: []string{"windows", "linux", "darwin"}[i%3]},
			Runner:      agentsim.RunnerFunc(func(context.Context, string) ([]map[string]string, error) { return rows[:1], nil }),
			ResultLines: agentsim.EventLines("pack_execution-basics_high_score_process_creations", rows), Stats: stats, Gzip: true})
		wg.Add(1)
		sem <- struct{}{}
		go func(a *agentsim.Agent) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := a.Enroll(ctx); err != nil {
				mu.Lock()
				enrollErr = err
				mu.Unlock()
			}
		}(agents[i])
	}
	wg.Wait()
	if enrollErr != nil {
		r.err = enrollErr
		return r
	}
	stats.Reset() // measure the steady state only
	cpu0, _ := procCPU(srv.Process.Pid)
	start := time.Now()
	actx, stop := context.WithTimeout(ctx, dur)
	defer stop()
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(actx) }()
	}
	// A live query to every host in the middle of the run.
	time.Sleep(dur / 3)
	body := `{"sql":"SELECT pid, name FROM processes","targets":{"all":true},"timeout":"` + (dur / 2).String() + `"}`
	req, _ := http.NewRequest("POST", url+"/api/v1/queries", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench-token")
	res, err := hc.Do(req)
	var q struct {
		ID int64 `json:"id"`
	}
	if err == nil {
		json.NewDecoder(res.Body).Decode(&q)
		res.Body.Close()
	}
	wg.Wait()
	r.dur = time.Since(start)
	cpu1, _ := procCPU(srv.Process.Pid)
	r.cpu, r.rss = cpu1-cpu0, procHWM(srv.Process.Pid)
	r.stats, r.requests = stats.Summaries(), stats.Total()
	if q.ID > 0 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/queries/%d", url, q.ID), nil)
		req.Header.Set("Authorization", "Bearer bench-token")
		if res, err := hc.Do(req); err == nil {
			var d struct {
				Query struct {
					Rows int `json:"rows"`
				} `json:"query"`
			}
			json.NewDecoder(res.Body).Decode(&d)
			res.Body.Close()
			r.liveRows = d.Query.Rows
		}
	}
	return r
}
