package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Hunts lists the hunts with their next n runs.
func (c *Client) Hunts(ctx context.Context, next int) ([]apiv1.Hunt, error) {
	out, err := call[apiv1.Hunts](ctx, c, "GET", "/api/v1/hunts?next="+strconv.Itoa(next), nil)
	return out.Hunts, err
}

// Hunt returns one hunt.
func (c *Client) Hunt(ctx context.Context, name string, next int) (apiv1.Hunt, error) {
	return call[apiv1.Hunt](ctx, c, "GET", huntPath(name)+"?next="+strconv.Itoa(next), nil)
}

// CreateHunt defines a hunt.
func (c *Client) CreateHunt(ctx context.Context, req apiv1.HuntRequest) (apiv1.Hunt, error) {
	return call[apiv1.Hunt](ctx, c, "POST", "/api/v1/hunts", req)
}

// UpdateHunt replaces a hunt's definition.
func (c *Client) UpdateHunt(ctx context.Context, name string, req apiv1.HuntRequest) (apiv1.Hunt, error) {
	return call[apiv1.Hunt](ctx, c, "PUT", huntPath(name), req)
}

// DeleteHunt removes a hunt.
func (c *Client) DeleteHunt(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", huntPath(name), nil, nil)
}

// RunHunt starts a run of a dispatch hunt now.
func (c *Client) RunHunt(ctx context.Context, name string) (apiv1.HuntRun, error) {
	return call[apiv1.HuntRun](ctx, c, "POST", huntPath(name)+"/run", nil)
}

// HuntRuns lists runs, latest first (all hunts when name is "").
func (c *Client) HuntRuns(ctx context.Context, name string, limit int) ([]apiv1.HuntRun, error) {
	path := "/api/v1/runs?limit=" + strconv.Itoa(limit)
	if name != "" {
		path = huntPath(name) + "/runs?limit=" + strconv.Itoa(limit)
	}
	out, err := call[apiv1.HuntRuns](ctx, c, "GET", path, nil)
	return out.Runs, err
}

// HuntRun returns a run with its queries and per-host states.
func (c *Client) HuntRun(ctx context.Context, id int64) (apiv1.HuntRunDetail, error) {
	return call[apiv1.HuntRunDetail](ctx, c, "GET", "/api/v1/runs/"+itoa(id), nil)
}

// RunRows returns a page of a run's rows (query "" for all queries).
func (c *Client) RunRows(ctx context.Context, id int64, query string, offset, limit int) (apiv1.HuntRows, error) {
	q := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
	if query != "" {
		q.Set("query", query)
	}
	return call[apiv1.HuntRows](ctx, c, "GET", withQuery("/api/v1/runs/"+itoa(id)+"/rows", q), nil)
}

// HuntResults returns a push hunt's result log rows (query "" for all queries).
func (c *Client) HuntResults(ctx context.Context, name, query string, limit int) (apiv1.HuntRows, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if query != "" {
		q.Set("query", query)
	}
	return call[apiv1.HuntRows](ctx, c, "GET", withQuery(huntPath(name)+"/results", q), nil)
}

func huntPath(name string) string { return "/api/v1/hunts/" + url.PathEscape(name) }
