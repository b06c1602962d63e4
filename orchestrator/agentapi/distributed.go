package agentapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// QueryName is the distributed query name of live query id; ParseQueryName
// inverts it.
func QueryName(id int64) string { return "exechunt_lq_" + itoa(id) }

// ParseQueryName returns the live query id of a distributed query name.
func ParseQueryName(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, "exechunt_lq_")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// readResponse is the distributed/read answer.
type readResponse struct {
	Queries     map[string]string `json:"queries"`
	Discovery   map[string]string `json:"discovery,omitempty"`
	Accelerate  int               `json:"accelerate,omitempty"`
	NodeInvalid bool              `json:"node_invalid"`
}

func (h *Handler) read(ctx context.Context, r *http.Request, body []byte) (any, error) {
	var req nodeKeyRequest
	host, err := h.decodeAuthenticated(ctx, r, body, "distributed read", false, &req)
	if err != nil {
		return nil, err
	}
	resp := readResponse{Queries: map[string]string{}}
	pending, err := h.c.Live.TakePendingQueries(ctx, host.ID, h.c.Now())
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		name := QueryName(p.QueryID)
		resp.Queries[name] = p.SQL
		if p.Discovery != "" {
			if resp.Discovery == nil {
				resp.Discovery = map[string]string{}
			}
			resp.Discovery[name] = p.Discovery
		}
	}
	if h.accelerate(ctx, pending) {
		resp.Accelerate = h.c.Accelerate
	}
	return resp, nil
}

// accelerate reports whether a host handed these live queries should poll faster
// for a while: when it is handed some and none targets more than
// AccelerateMaxHosts hosts (see DefaultAccelerateMaxHosts).
func (h *Handler) accelerate(ctx context.Context, pending []store.PendingQuery) bool {
	if len(pending) == 0 || h.c.AccelerateMaxHosts < 0 {
		return false
	}
	for _, p := range pending {
		n, err := h.targets.get(ctx, p.QueryID, h.c.Live)
		if err != nil {
			h.log.Warn("counting a live query's hosts", "query_id", p.QueryID, "err", err)
			return false
		}
		if n > h.c.AccelerateMaxHosts {
			return false
		}
	}
	return true
}

// targetCache remembers how many hosts each live query targets (fixed when it is
// created), so the fleet's reads of a new query count its hosts once.
type targetCache struct {
	mu sync.Mutex
	n  map[int64]*targetCount
}

type targetCount struct {
	once sync.Once
	n    int
	err  error
}

// maxTargetCounts bounds targetCache; it starts over when full.
const maxTargetCounts = 4096

// targetLookupTimeout bounds the lookup of a live query's host count.
const targetLookupTimeout = 5 * time.Second

func (c *targetCache) get(ctx context.Context, id int64, live LiveStore) (int, error) {
	c.mu.Lock()
	if c.n == nil || len(c.n) >= maxTargetCounts {
		c.n = map[int64]*targetCount{}
	}
	e := c.n[id]
	if e == nil {
		e = &targetCount{}
		c.n[id] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		// Every read of the query waits on this one lookup: it must not fail
		// because the request that happened to make it went away.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), targetLookupTimeout)
		defer cancel()
		q, err := live.LiveQuery(lctx, id)
		for _, k := range q.Counts {
			e.n += k
		}
		e.err = err
	})
	if e.err != nil { // not remembered: the next read asks again
		c.mu.Lock()
		if c.n[id] == e {
			delete(c.n, id)
		}
		c.mu.Unlock()
	}
	return e.n, e.err
}

// writeRequest is osquery's distributed/write: one POST after all queries of a
// read ran. Row values are strings; statuses are osquery/SQLite codes (0 = ok).
type writeRequest struct {
	nodeKeyRequest
	Queries  map[string][]row           `json:"queries"`
	Statuses map[string]flexInt         `json:"statuses"`
	Messages map[string]string          `json:"messages"`
	Stats    map[string]json.RawMessage `json:"stats"`
}

type okResponse struct {
	NodeInvalid bool `json:"node_invalid"`
}

func (h *Handler) write(ctx context.Context, r *http.Request, body []byte) (any, error) {
	var req writeRequest
	host, err := h.decodeAuthenticated(ctx, r, body, "distributed write", false, &req)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for n := range req.Queries {
		names[n] = true
	}
	for n := range req.Statuses {
		names[n] = true
	}
	var results []store.HostResult
	for name := range names {
		id, ok := ParseQueryName(name)
		if !ok {
			continue // not one of ours
		}
		res := store.HostResult{QueryID: id, Status: int(req.Statuses[name]), Message: req.Messages[name]}
		if st, ok := req.Stats[name]; ok && len(st) > 0 && string(st) != "null" {
			res.Stats = st
		}
		for _, rw := range req.Queries[name] {
			res.Rows = append(res.Rows, rw.strings())
		}
		results = append(results, res)
	}
	changed, err := h.c.Live.RecordResults(ctx, host.ID, results, h.c.Now())
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 && h.c.OnResults != nil {
		h.c.OnResults(changed)
	}
	return okResponse{}, nil
}
