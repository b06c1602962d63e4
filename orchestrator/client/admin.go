package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/exechunt/exechunt/orchestrator/operatorapi"
)

// Tokens lists the API tokens (admin).
func (c *Client) Tokens(ctx context.Context) ([]operatorapi.Token, error) {
	var out struct {
		Tokens []operatorapi.Token `json:"tokens"`
	}
	err := c.do(ctx, "GET", "/api/v1/tokens", nil, &out)
	return out.Tokens, err
}

// CreateToken creates an API token (admin); the answer holds the only copy of
// its secret.
func (c *Client) CreateToken(ctx context.Context, req operatorapi.CreateTokenRequest) (operatorapi.CreatedToken, error) {
	var out operatorapi.CreatedToken
	err := c.do(ctx, "POST", "/api/v1/tokens", req, &out)
	return out, err
}

// RevokeToken revokes an API token (admin).
func (c *Client) RevokeToken(ctx context.Context, id int64) (operatorapi.Token, error) {
	var out operatorapi.Token
	err := c.do(ctx, "POST", "/api/v1/tokens/"+strconv.FormatInt(id, 10)+"/revoke", nil, &out)
	return out, err
}

// EnrollSecrets lists the enroll secrets' names (admin).
func (c *Client) EnrollSecrets(ctx context.Context) ([]operatorapi.EnrollSecret, error) {
	var out struct {
		Secrets []operatorapi.EnrollSecret `json:"enroll_secrets"`
	}
	err := c.do(ctx, "GET", "/api/v1/enroll-secrets", nil, &out)
	return out.Secrets, err
}

// AddEnrollSecret adds an enroll secret (admin); an empty secret is generated.
func (c *Client) AddEnrollSecret(ctx context.Context, name, secret string) (operatorapi.AddedSecret, error) {
	var out operatorapi.AddedSecret
	err := c.do(ctx, "POST", "/api/v1/enroll-secrets", operatorapi.AddSecretRequest{Name: name, Secret: secret}, &out)
	return out, err
}

// RevokeEnrollSecret deletes an enroll secret (admin); the last one cannot go.
func (c *Client) RevokeEnrollSecret(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/api/v1/enroll-secrets/"+url.PathEscape(name), nil, nil)
}

// RevokeNodeKey revokes a host's node key (admin): the agent gets node_invalid
// and must re-enroll with a valid enroll secret.
func (c *Client) RevokeNodeKey(ctx context.Context, hostID int64) error {
	return c.do(ctx, "POST", "/api/v1/hosts/"+strconv.FormatInt(hostID, 10)+"/revoke-node-key", nil, nil)
}

// Audit returns audit log entries, newest first (admin). q holds the optional
// filters actor, action, since (a duration), before (an entry ID) and limit.
func (c *Client) Audit(ctx context.Context, q url.Values) ([]operatorapi.AuditEntry, error) {
	var out struct {
		Entries []operatorapi.AuditEntry `json:"entries"`
	}
	path := "/api/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	err := c.do(ctx, "GET", path, nil, &out)
	return out.Entries, err
}
