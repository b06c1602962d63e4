package client

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
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

// AddSuppressionRule stores a suppression rule.
func (c *Client) AddSuppressionRule(ctx context.Context, r operatorapi.SuppressionRule) (operatorapi.SuppressionRule, error) {
	var out operatorapi.SuppressionRule
	err := c.do(ctx, "POST", "/api/v1/suppressions", r, &out)
	return out, err
}

// SuppressionRules lists the suppression rules.
func (c *Client) SuppressionRules(ctx context.Context) ([]operatorapi.SuppressionRule, error) {
	var out []operatorapi.SuppressionRule
	err := c.do(ctx, "GET", "/api/v1/suppressions", nil, &out)
	return out, err
}

// DeleteSuppressionRule removes a suppression rule.
func (c *Client) DeleteSuppressionRule(ctx context.Context, id int64) error {
	return c.do(ctx, "DELETE", fmt.Sprintf("/api/v1/suppressions/%d", id), nil, nil)
}
