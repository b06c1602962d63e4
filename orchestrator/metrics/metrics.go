// Package metrics holds the orchestrator's Prometheus metrics in a registry of
// its own (not the global one): HTTP requests and latency by route pattern,
// hosts online, result rows ingested, hunt runs, store operation latency, and
// the Go runtime and process collectors. Handler serves them in the Prometheus
// text format (GET /metrics on the server; see docs/operations.md).
package metrics

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// Namespace prefixes every exechunt metric.
const Namespace = "exechunt"

// Unmatched is the endpoint label of requests no route matched (404, 405,
// redirects): the raw path is never a label, so clients cannot grow the series.
const Unmatched = "unmatched"

// Result kinds of exechunt_results_ingested_total.
const (
	KindResult = "result" // scheduled-query result log rows (new rows only)
	KindStatus = "status" // osquery status log lines (new lines only)
	KindLive   = "live"   // live (distributed) query rows recorded
)

// Metrics is a registry with the orchestrator's collectors.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	ingested     *prometheus.CounterVec
	huntRuns     *prometheus.CounterVec
	storeLatency *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	pruned       prometheus.Counter
	quota        prometheus.Counter
	onStore      func(op string, err error)
}

// New returns Metrics with the Go runtime and process collectors registered and
// exechunt_build_info set to version.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "http",
		Name: "requests_total", Help: "HTTP requests answered, by route pattern (endpoint) and status code."},
		[]string{"endpoint", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "http",
		Name: "request_duration_seconds", Help: "Time to answer HTTP requests, by route pattern (streams count until they end).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"endpoint"})
	m.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace,
		Name: "results_ingested_total", Help: "Rows stored from agents: result = new result log rows, status = new status log lines, live = live query rows."},
		[]string{"kind"})
	m.huntRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace,
		Name: "hunt_runs_total", Help: "Hunt runs finished, by outcome (done, failed, interrupted)."},
		[]string{"outcome"})
	m.storeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "store",
		Name: "operation_duration_seconds", Help: "Time of store operations, by operation (errors included).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}},
		[]string{"operation"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "store",
		Name: "operation_errors_total", Help: "Store operations that failed (not found excluded), by operation."},
		[]string{"operation"})
	m.pruned = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace,
		Name: "rows_pruned_total", Help: "Result rows and status logs deleted by the retention policy (serve --retention)."})
	m.quota = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "agent",
		Name: "log_quota_refusals_total", Help: "Log POSTs refused (429) because their host was over its log quota."})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the version label is the running build."}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.ingested, m.huntRuns, m.storeLatency, m.storeErrors, m.pruned, m.quota, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, to register more collectors or gather in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4,
		Timeout: 10 * time.Second, ErrorHandling: promhttp.ContinueOnError})
}

// Middleware counts and times the requests of next, which must be (or wrap) an
// http.ServeMux: the endpoint label is the pattern the mux matched
// (Request.Pattern, e.g. "POST /api/osquery/log"), Unmatched when none did.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		ep := r.Pattern // set on r by the ServeMux
		if ep == "" {
			ep = Unmatched
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(ep, itoa(code)).Inc()
		m.latency.WithLabelValues(ep).Observe(time.Since(start).Seconds())
	})
}

// statusWriter records the status code; Flush and Unwrap keep streaming (server-
// sent events) and http.ResponseController working through it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func itoa(n int) string {
	if n >= 100 && n <= 999 {
		return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
	}
	return "other"
}

// Ingested adds n rows of kind (KindResult, KindStatus, KindLive).
func (m *Metrics) Ingested(kind string, n int) {
	if n > 0 {
		m.ingested.WithLabelValues(kind).Add(float64(n))
	}
}

// Pruned counts rows deleted by the retention policy.
func (m *Metrics) Pruned(n int64) { m.pruned.Add(float64(max(n, 0))) }

// QuotaRefusal counts a log POST refused over its host's quota.
func (m *Metrics) QuotaRefusal() { m.quota.Inc() }

// HuntRun counts a finished hunt run with its final state.
func (m *Metrics) HuntRun(outcome string) { m.huntRuns.WithLabelValues(outcome).Inc() }

// OnStore sets a function called with the outcome of every store operation the
// instrumented store times (the server's readiness watches its writes with it).
// Set it before the store is used.
func (m *Metrics) OnStore(f func(op string, err error)) { m.onStore = f }

// ObserveStore records one store operation that started at start.
func (m *Metrics) ObserveStore(op string, start time.Time, err error) {
	if m.onStore != nil {
		m.onStore(op, err)
	}
	m.storeLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !isNotFound(err) {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// HostLister is what the hosts gauges read.
type HostLister interface {
	ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error)
}

// WatchHosts registers exechunt_hosts_online (hosts seen within online) and
// exechunt_hosts_enrolled, counted from the store when scraped; a count is
// reused for up to cacheFor so frequent scrapes of a large fleet stay cheap.
func (m *Metrics) WatchHosts(hosts HostLister, online, cacheFor time.Duration, now func() time.Time) {
	m.reg.MustRegister(&hostsCollector{hosts: hosts, online: online, cacheFor: cacheFor, now: now,
		onlineDesc: prometheus.NewDesc(Namespace+"_hosts_online",
			"Enrolled hosts whose last request is within the online window ("+online.String()+").", nil, nil),
		enrolledDesc: prometheus.NewDesc(Namespace+"_hosts_enrolled", "Enrolled hosts.", nil, nil)})
}

type hostsCollector struct {
	hosts                    HostLister
	online, cacheFor         time.Duration
	now                      func() time.Time
	onlineDesc, enrolledDesc *prometheus.Desc

	mu              sync.Mutex
	at              time.Time
	nOnline, nTotal int
}

func (c *hostsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.onlineDesc
	ch <- c.enrolledDesc
}

func (c *hostsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.at.IsZero() || now.Sub(c.at) >= c.cacheFor || now.Before(c.at) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		hs, err := c.hosts.ListHosts(ctx, store.HostFilter{})
		cancel()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.onlineDesc, err)
			return
		}
		c.nOnline, c.nTotal, c.at = 0, len(hs), now
		for _, h := range hs {
			if !h.LastSeen.IsZero() && now.Sub(h.LastSeen) <= c.online {
				c.nOnline++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.onlineDesc, prometheus.GaugeValue, float64(c.nOnline))
	ch <- prometheus.MustNewConstMetric(c.enrolledDesc, prometheus.GaugeValue, float64(c.nTotal))
}

// WatchLeader registers exechunt_hunt_scheduler_leader: 1 while this replica holds
// the hunt scheduler lease (it fires the cron hunts), else 0. Across replicas on
// one database the sum is 1, or 0 during a fail-over.
func (m *Metrics) WatchLeader(leader func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: Namespace + "_hunt_scheduler_leader",
		Help: "1 while this orchestrator holds the hunt scheduler lease (fires the cron hunts), else 0."},
		func() float64 {
			if leader() {
				return 1
			}
			return 0
		}))
}
