package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/offline/simulate/agentsim"
)

// fleetResult is one measured run of the fleet load.
type fleetResult struct {
	hosts      int
	dur        time.Duration
	requests   int
	cpu        time.Duration // orchestrator user+system CPU during the measured window
	dbCPU      time.Duration // PostgreSQL (postmaster and backends) CPU, when the cluster is local
	simCPU     time.Duration // this process's CPU (the simulated agents)
	rss        int64         // orchestrator VmHWM (peak RSS), bytes
	heap       float64       // orchestrator go_memstats_heap_inuse_bytes at the end
	ingested   float64       // result + status rows stored during the window (exechunt_results_ingested_total)
	stats      []agentsim.Summary
	liveRows   int
	load       string             // /proc/loadavg at the end: other work on the machine shows here
	slow       []string           // requests over agentsim.SlowThreshold per second of the run
	startup    []agentsim.Summary // enroll and config of every agent, before the window
	startupDur time.Duration
	err        error
}

var (
	fleetMu   sync.Mutex
	fleetRuns = map[string]*fleetResult{}
)

// BenchmarkFleet runs the built exechunt serve in a temp data dir and drives it
// with simulated agents on the same machine. They start up first (enroll, then
// config, 32 at a time; reported separately), then the measured steady state:
// distributed read every 10 s, result logs (benchRowsPerLog process-creation
// rows) + a status line every 10 s, plus a live query to every host a third of
// the way in. It reports requests/s,
// p50/p99 per endpoint, the server's CPU (cores used), peak RSS and Go heap, and
// rows ingested/s (from the server's /metrics). The run happens once per backend
// and size however many times the framework calls the benchmark.
//
// EXECHUNT_BENCH_DURATION sets the measured window (default 30s);
// EXECHUNT_BENCH_PPROF=DIR writes CPU profiles of server and simulator there;
// EXECHUNT_BENCH_SERVER_LOG=FILE keeps the server's log (stderr) there;
// EXECHUNT_BENCH_HOSTS a comma-separated list of sizes (default 1000,5000);
// EXECHUNT_BENCH_BACKENDS a comma-separated list of sqlite and postgres (default
// sqlite). postgres needs EXECHUNT_BENCH_POSTGRES_DSN (or
// EXECHUNT_TEST_POSTGRES_DSN): each run gets a fresh schema in that database,
// dropped afterwards; a pool_max_conns in the DSN sizes the server's pool. When
// the cluster is on this machine its CPU (postmaster and backends) is reported
// too.
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
	backends := []string{"sqlite"}
	if s := os.Getenv("EXECHUNT_BENCH_BACKENDS"); s != "" {
		backends = strings.Split(s, ",")
	}
	for _, be := range backends {
		be = strings.TrimSpace(be)
		dsn := ""
		switch be {
		case "sqlite":
		case "postgres":
			dsn = os.Getenv("EXECHUNT_BENCH_POSTGRES_DSN")
			if dsn == "" {
				dsn = os.Getenv("EXECHUNT_TEST_POSTGRES_DSN")
			}
			if dsn == "" {
				b.Log("backend postgres skipped: set EXECHUNT_BENCH_POSTGRES_DSN (or EXECHUNT_TEST_POSTGRES_DSN)")
				continue
			}
		default:
			b.Fatalf("EXECHUNT_BENCH_BACKENDS: unknown backend %q", be)
		}
		for _, n := range sizes {
			benchFleetSize(b, be, dsn, n, dur)
		}
	}
}

func benchFleetSize(b *testing.B, backend, dsn string, n int, dur time.Duration) {
	b.Run(fmt.Sprintf("backend=%s/hosts=%d", backend, n), func(b *testing.B) {
		key := fmt.Sprintf("%s/%d", backend, n)
		fleetMu.Lock()
		r, ok := fleetRuns[key]
		if !ok {
			r = runFleet(b, backend, dsn, n, dur)
			fleetRuns[key] = r
		}
		fleetMu.Unlock()
		if r.err != nil {
			b.Fatal(r.err)
		}
		b.ReportMetric(float64(r.requests)/r.dur.Seconds(), "req/s")
		b.ReportMetric(r.cpu.Seconds()/r.dur.Seconds(), "server-cores")
		b.ReportMetric(float64(r.rss)/(1<<20), "server-peak-RSS-MiB")
		b.ReportMetric(r.heap/(1<<20), "server-heap-MiB")
		b.ReportMetric(r.ingested/r.dur.Seconds(), "rows-ingested/s")
		if r.dbCPU > 0 {
			b.ReportMetric(r.dbCPU.Seconds()/r.dur.Seconds(), "postgres-cores")
		}
		b.ReportMetric(r.simCPU.Seconds()/r.dur.Seconds(), "simulator-cores")
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
			b.Logf("%s, %d hosts, %s: %d requests (%.0f/s), server CPU %.2f cores (PostgreSQL %.2f, simulator %.2f), peak RSS %.0f MiB, heap %.0f MiB, %.0f rows ingested/s, worst p99 %s, load average %s",
				backend, n, r.dur, r.requests, float64(r.requests)/r.dur.Seconds(), r.cpu.Seconds()/r.dur.Seconds(),
				r.dbCPU.Seconds()/r.dur.Seconds(), r.simCPU.Seconds()/r.dur.Seconds(), float64(r.rss)/(1<<20), r.heap/(1<<20), r.ingested/r.dur.Seconds(), worst, r.load)
			for _, s := range r.stats {
				b.Logf("  %-20s n=%-7d p50=%-10s p99=%-10s max=%s", s.Endpoint, s.Count, s.P50, s.P99, s.Max)
			}
			for _, s := range r.startup {
				b.Logf("  start-up (%s, 32 agents at a time) %-12s n=%-6d p50=%-10s p99=%-10s max=%s", r.startupDur.Round(time.Second),
					s.Endpoint, s.Count, s.P50, s.P99, s.Max)
			}
			if len(r.slow) > 0 { // one line: a benchmark's log is cut after ten lines
				b.Logf("  over %v: %s", agentsim.SlowThreshold, strings.Join(r.slow, "; "))
			}
		}
	})
}

// benchRowsPerLog is the number of result rows each host sends per log period.
const benchRowsPerLog = 5

// processRows returns n rows shaped like process_creation_events results (the
// columns the execution-basics pack selects), about 700 bytes of JSON each.
func processRows(n int) []map[string]string {
	rows := make([]map[string]string, n)
	for i := range rows {
		rows[i] = map[string]string{
			"time": strconv.Itoa(1764160000 + i), "datetime": "2026-11-26T14:26:40Z", "pid": strconv.Itoa(4100 + i),
			"parent_pid": "3920", "process_guid": fmt.Sprintf("{8d5f3c1e-1a2b-6745-%04x-000000003a00}", i),
			"parent_process_guid": "{8d5f3c1e-1a2b-6745-0a01-000000003a00}", "name": "powershell.exe",
			"path":        `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			"cmdline":     fmt.Sprintf(`powershell.exe -NoProfile -ExecutionPolicy Bypass -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIAB%d`, i),
			"parent_name": "cmd.exe", "parent_cmdline": `cmd.exe /c C:\Users\alice\AppData\Local\Temp\run.bat`,
			"username": `CORP\alice`, "integrity_level": "Medium", "source": "sysmon",
			"hashes":     "SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C",
			"indicators": "encoded_command,execution_policy_bypass,lolbin", "score": strconv.Itoa(60 + i%40),
			"lineage_string": `explorer.exe > cmd.exe > powershell.exe`,
		}
	}
	return rows
}

// postgresSchema creates a fresh schema for one run and returns the DSN selecting
// it, the postmaster's pid when the cluster runs on this machine (0 otherwise)
// and a function dropping the schema.
func postgresSchema(dsn string, n int) (string, int, func(), error) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(stripPoolParams(dsn))
	if err != nil {
		return "", 0, nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", 0, nil, err
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("fleet_bench_%d_%d", n, time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", 0, nil, err
	}
	drop := func() {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	}
	var backend int
	conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend)
	postmaster := 0
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", backend)); err == nil {
		if f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+2:])); len(f) > 1 {
			postmaster, _ = strconv.Atoi(f[1])
		}
		if c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", postmaster)); err != nil || !strings.HasPrefix(string(c), "postgres") {
			postmaster = 0
		}
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			drop()
			return "", 0, nil, err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), postmaster, drop, nil
	}
	return dsn + " search_path=" + schema, postmaster, drop, nil
}

// stripPoolParams drops pgxpool's own parameters (pool_max_conns…) from a URL
// DSN, which a plain connection would send to the server as settings.
func stripPoolParams(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || !strings.Contains(dsn, "://") {
		return dsn
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// clusterCPU is the CPU used by a local PostgreSQL cluster: the postmaster (with
// its reaped children) and its live children (backends, WAL writer, checkpointer…).
func clusterCPU(postmaster int) time.Duration {
	if postmaster == 0 {
		return 0
	}
	stat := func(pid int) []string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		return strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	}
	ticks := func(f []string, i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	var t int64
	if f := stat(postmaster); f != nil {
		t += ticks(f, 11) + ticks(f, 12) + ticks(f, 13) + ticks(f, 14)
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := stat(pid); f != nil && f[1] == strconv.Itoa(postmaster) {
			t += ticks(f, 11) + ticks(f, 12)
		}
	}
	return time.Duration(t) * 10 * time.Millisecond
}

// scrapeMetrics reads the server's /metrics and returns the rows ingested so far
// (all kinds) and the Go heap in use.
func scrapeMetrics(hc *http.Client, base string) (ingested, heap float64) {
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer bench-token")
	res, err := hc.Do(req)
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		name, val, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "exechunt_results_ingested_total"):
			ingested += v
		case name == "go_memstats_heap_inuse_bytes":
			heap = v
		}
	}
	return ingested, heap
}

// profileFleet waits a third of the run, then profiles the server (through serve
// --pprof) and this process (the simulator) for another third.
func profileFleet(b *testing.B, hc *http.Client, dir, name, addr string, third time.Duration) {
	time.Sleep(third)
	f, err := os.Create(filepath.Join(dir, name+"-simulator.pprof"))
	if err == nil && pprof.StartCPUProfile(f) == nil {
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(third.Seconds())))
	if err != nil {
		b.Logf("server profile: %v", err)
		return
	}
	defer res.Body.Close()
	out, err := os.Create(filepath.Join(dir, name+"-server.pprof"))
	if err != nil {
		b.Logf("server profile: %v", err)
		return
	}
	defer out.Close()
	_, _ = io.Copy(out, res.Body)
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

func runFleet(b *testing.B, backend, dsn string, n int, dur time.Duration) *fleetResult {
	r := &fleetResult{hosts: n}
	postmaster := 0
	if backend == "postgres" {
		d, pm, drop, err := postgresSchema(dsn, n)
		if err != nil {
			r.err = fmt.Errorf("postgres: %w", err)
			return r
		}
		defer drop()
		dsn, postmaster = d, pm
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "exechunt")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/exechunt").CombinedOutput(); err != nil {
		r.err = fmt.Errorf("go build: %v\n%s", err, out)
		return r
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data", data}
	if dsn != "" {
		args = append(args, "--db", dsn)
	}
	// EXECHUNT_BENCH_PPROF=DIR writes CPU profiles of the server and of the
	// simulator over the middle third of the run to DIR.
	profDir := os.Getenv("EXECHUNT_BENCH_PPROF")
	pprofAddr := ""
	if profDir != "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			r.err = err
			return r
		}
		pprofAddr = l.Addr().String()
		l.Close()
		args = append(args, "--pprof", pprofAddr)
	}
	srv := exec.Command(bin, args...)
	srv.Env = append(os.Environ(), "EXECHUNT_ENROLL_SECRET=bench-secret", "EXECHUNT_ADMIN_TOKEN=bench-token")
	out, _ := srv.StdoutPipe()
	if f := os.Getenv("EXECHUNT_BENCH_SERVER_LOG"); f != "" {
		if w, err := os.Create(f); err == nil {
			defer w.Close()
			srv.Stderr = w
		}
	}
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

	// The simulator is the load generator, not the system measured: let its
	// thousands of agents collect garbage less often, leaving the CPU to the server.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	stats := agentsim.NewStats()
	rows := processRows(benchRowsPerLog)
	agents := make([]*agentsim.Agent, n)
	// Start the agents first, 32 at a time: enroll and config, reported apart from
	// the steady state (every host of a fleet starting within seconds of each other
	// is a restart, not the load of a running fleet).
	startupBegan := time.Now()
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
			// Start-up as osqueryd does it: enroll, then fetch the config.
			err := a.Enroll(ctx)
			if err == nil {
				_, err = a.Config(ctx)
			}
			if err != nil {
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
	r.startup = stats.Summaries()
	r.startupDur = time.Since(startupBegan)
	stats.Reset() // measure the steady state only
	ing0, _ := scrapeMetrics(hc, url)
	db0 := clusterCPU(postmaster)
	sim0, _ := procCPU(os.Getpid())
	cpu0, _ := procCPU(srv.Process.Pid)
	start := time.Now()
	actx, stop := context.WithTimeout(ctx, dur)
	defer stop()
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(actx) }()
	}
	if profDir != "" {
		go profileFleet(b, hc, profDir, fmt.Sprintf("%s-%d", backend, n), pprofAddr, dur/3)
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
	r.dbCPU = clusterCPU(postmaster) - db0
	sim1, _ := procCPU(os.Getpid())
	r.simCPU = sim1 - sim0
	ing1, heap := scrapeMetrics(hc, url)
	r.ingested, r.heap = ing1-ing0, heap
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.load = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	r.stats, r.requests = stats.Summaries(), stats.Total()
	r.slow = stats.Slow(start, time.Second)
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
