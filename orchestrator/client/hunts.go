package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/exechunt/exechunt/orchestrator/operatorapi"
)

// Hunts lists the hunts with their next n runs.
func (c *Client) Hunts(ctx context.Context, next int) ([]operatorapi.Hunt, error) {
	var out struct {
		Hunts []operatorapi.Hunt `json:"hunts"`
	}
	err := c.do(ctx, "GET", "/api/v1/hunts?next="+strconv.Itoa(next), nil, &out)
	return out.Hunts, err
}

// Hunt returns one hunt.
func (c *Client) Hunt(ctx context.Context, name string, next int) (operatorapi.Hunt, error) {
	var h operatorapi.Hunt
	err := c.do(ctx, "GET", "/api/v1/hunts/"+url.PathEscape(name)+"?next="+strconv.Itoa(next), nil, &h)
	return h, err
}

// CreateHunt defines a hunt.
func (c *Client) CreateHunt(ctx context.Context, req operatorapi.HuntRequest) (operatorapi.Hunt, error) {
	var h operatorapi.Hunt
	err := c.do(ctx, "POST", "/api/v1/hunts", req, &h)
	return h, err
}

// UpdateHunt replaces a hunt's definition.
func (c *Client) UpdateHunt(ctx context.Context, name string, req operatorapi.HuntRequest) (operatorapi.Hunt, error) {
	var h operatorapi.Hunt
	err := c.do(ctx, "PUT", "/api/v1/hunts/"+url.PathEscape(name), req, &h)
	return h, err
}

// DeleteHunt removes a hunt.
func (c *Client) DeleteHunt(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/api/v1/hunts/"+url.PathEscape(name), nil, nil)
}

// RunHunt starts a run of a dispatch hunt now.
func (c *Client) RunHunt(ctx context.Context, name string) (operatorapi.HuntRun, error) {
	var r operatorapi.HuntRun
	err := c.do(ctx, "POST", "/api/v1/hunts/"+url.PathEscape(name)+"/run", nil, &r)
	return r, err
}

// HuntRuns lists runs, latest first (all hunts when name is "").
func (c *Client) HuntRuns(ctx context.Context, name string, limit int) ([]operatorapi.HuntRun, error) {
	path := "/api/v1/runs?limit=" + strconv.Itoa(limit)
	if name != "" {
		path = "/api/v1/hunts/" + url.PathEscape(name) + "/runs?limit=" + strconv.Itoa(limit)
	}
	var out struct {
		Runs []operatorapi.HuntRun `json:"runs"`
	}
	err := c.do(ctx, "GET", path, nil, &out)
	return out.Runs, err
}

// HuntRun returns a run with its queries and per-host states.
func (c *Client) HuntRun(ctx context.Context, id int64) (operatorapi.HuntRunDetail, error) {
	var d operatorapi.HuntRunDetail
	err := c.do(ctx, "GET", "/api/v1/runs/"+strconv.FormatInt(id, 10), nil, &d)
	return d, err
}

// RunRows returns a page of a run's rows (query "" for all queries).
func (c *Client) RunRows(ctx context.Context, id int64, query string, offset, limit int) (operatorapi.HuntRows, error) {
	q := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
	if query != "" {
		q.Set("query", query)
	}
	var page operatorapi.HuntRows
	err := c.do(ctx, "GET", "/api/v1/runs/"+strconv.FormatInt(id, 10)+"/rows?"+q.Encode(), nil, &page)
	return page, err
}

// HuntResults returns a push hunt's result log rows (query "" for all queries).
func (c *Client) HuntResults(ctx context.Context, name, query string, limit int) (operatorapi.HuntRows, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if query != "" {
		q.Set("query", query)
	}
	var page operatorapi.HuntRows
	err := c.do(ctx, "GET", "/api/v1/hunts/"+url.PathEscape(name)+"/results?"+q.Encode(), nil, &page)
	return page, err
}
