package client

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/anomalies"
)

// Anomalies lists the fleet's anomalies, best rank first (filters as the API's
// query parameters: state, technique, hunt, host, limit).
func (c *Client) Anomalies(ctx context.Context, q url.Values) ([]anomalies.Anomaly, error) {
	var out []anomalies.Anomaly
	err := c.do(ctx, "GET", "/api/v1/anomalies?"+q.Encode(), nil, &out)
	return out, err
}

// Anomaly returns one anomaly.
func (c *Client) Anomaly(ctx context.Context, id int64) (anomalies.Anomaly, error) {
	var out anomalies.Anomaly
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v1/anomalies/%d", id), nil, &out)
	return out, err
}

// Triage sets an anomaly's state (open, acknowledged, suppressed, resolved).
func (c *Client) Triage(ctx context.Context, id int64, state, reason string) (anomalies.Anomaly, error) {
	var out anomalies.Anomaly
	err := c.do(ctx, "POST", fmt.Sprintf("/api/v1/anomalies/%d/triage", id), map[string]string{"state": state, "reason": reason}, &out)
	return out, err
}

// Stacks returns a query's stacks ("pack/query"), or with query "" the stacked
// queries' names as single-stack placeholders.
func (c *Client) Stacks(ctx context.Context, query string) ([]anomalies.Anomaly, error) {
	var out []anomalies.Anomaly
	err := c.do(ctx, "GET", "/api/v1/stacks/"+strings.TrimPrefix(query, "/"), nil, &out)
	return out, err
}

// StackedQueries lists the queries that have stacks.
func (c *Client) StackedQueries(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, "GET", "/api/v1/stacks", nil, &out)
	return out, err
}
