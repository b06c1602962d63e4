package client

import (
	"context"
	"net/url"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Anomalies lists the fleet's anomalies, best rank first (filters as the API's
// query parameters: state, technique, hunt, host, limit).
func (c *Client) Anomalies(ctx context.Context, q url.Values) ([]apiv1.Anomaly, error) {
	return call[[]apiv1.Anomaly](ctx, c, "GET", "/api/v1/anomalies?"+q.Encode(), nil)
}

// Anomaly returns one anomaly by its short id (or the numeric id of earlier versions).
func (c *Client) Anomaly(ctx context.Context, id string) (apiv1.Anomaly, error) {
	return call[apiv1.Anomaly](ctx, c, "GET", "/api/v1/anomalies/"+url.PathEscape(id), nil)
}

// Triage sets an anomaly's state (open, acknowledged, suppressed, resolved).
func (c *Client) Triage(ctx context.Context, id, state, reason string) (apiv1.Anomaly, error) {
	return call[apiv1.Anomaly](ctx, c, "POST", "/api/v1/anomalies/"+url.PathEscape(id)+"/triage", apiv1.TriageRequest{State: state, Reason: reason})
}

// Stacks returns a query's stacks ("pack/query"), or with query "" the stacked
// queries' names as single-stack placeholders.
func (c *Client) Stacks(ctx context.Context, query string) ([]apiv1.Anomaly, error) {
	return call[[]apiv1.Anomaly](ctx, c, "GET", "/api/v1/stacks/"+strings.TrimPrefix(query, "/"), nil)
}

// StackedQueries lists the queries that have stacks.
func (c *Client) StackedQueries(ctx context.Context) ([]string, error) {
	return call[[]string](ctx, c, "GET", "/api/v1/stacks", nil)
}

// AddSuppressionRule stores a suppression rule.
func (c *Client) AddSuppressionRule(ctx context.Context, r apiv1.SuppressionRule) (apiv1.SuppressionRule, error) {
	return call[apiv1.SuppressionRule](ctx, c, "POST", "/api/v1/suppressions", r)
}

// SuppressionRules lists the suppression rules.
func (c *Client) SuppressionRules(ctx context.Context) ([]apiv1.SuppressionRule, error) {
	return call[[]apiv1.SuppressionRule](ctx, c, "GET", "/api/v1/suppressions", nil)
}

// DeleteSuppressionRule removes a suppression rule.
func (c *Client) DeleteSuppressionRule(ctx context.Context, id int64) error {
	return c.do(ctx, "DELETE", "/api/v1/suppressions/"+itoa(id), nil, nil)
}
