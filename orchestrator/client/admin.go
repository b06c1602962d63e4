package client

import (
	"context"
	"net/url"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Tokens lists the API tokens (admin).
func (c *Client) Tokens(ctx context.Context) ([]apiv1.Token, error) {
	out, err := call[apiv1.Tokens](ctx, c, "GET", "/api/v1/tokens", nil)
	return out.Tokens, err
}

// CreateToken creates an API token (admin); the answer holds the only copy of
// its secret.
func (c *Client) CreateToken(ctx context.Context, req apiv1.CreateTokenRequest) (apiv1.CreatedToken, error) {
	return call[apiv1.CreatedToken](ctx, c, "POST", "/api/v1/tokens", req)
}

// RevokeToken revokes an API token (admin).
func (c *Client) RevokeToken(ctx context.Context, id int64) (apiv1.Token, error) {
	return call[apiv1.Token](ctx, c, "POST", "/api/v1/tokens/"+itoa(id)+"/revoke", nil)
}

// EnrollSecrets lists the enroll secrets' names (admin).
func (c *Client) EnrollSecrets(ctx context.Context) ([]apiv1.EnrollSecret, error) {
	out, err := call[apiv1.EnrollSecrets](ctx, c, "GET", "/api/v1/enroll-secrets", nil)
	return out.Secrets, err
}

// AddEnrollSecret adds an enroll secret (admin); an empty secret is generated.
func (c *Client) AddEnrollSecret(ctx context.Context, name, secret string) (apiv1.AddedSecret, error) {
	return call[apiv1.AddedSecret](ctx, c, "POST", "/api/v1/enroll-secrets", apiv1.AddSecretRequest{Name: name, Secret: secret})
}

// RevokeEnrollSecret deletes an enroll secret (admin); the last one cannot go.
func (c *Client) RevokeEnrollSecret(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/api/v1/enroll-secrets/"+url.PathEscape(name), nil, nil)
}

// RevokeNodeKey revokes a host's node key (admin): the agent gets node_invalid
// and must re-enroll with a valid enroll secret.
func (c *Client) RevokeNodeKey(ctx context.Context, hostID int64) error {
	return c.do(ctx, "POST", "/api/v1/hosts/"+itoa(hostID)+"/revoke-node-key", nil, nil)
}

// Audit returns audit log entries, newest first (admin). q holds the optional
// filters actor, action, since (a duration), before (an entry ID) and limit.
func (c *Client) Audit(ctx context.Context, q url.Values) ([]apiv1.AuditEntry, error) {
	out, err := call[apiv1.AuditLog](ctx, c, "GET", withQuery("/api/v1/audit", q), nil)
	return out.Entries, err
}

// Forwarding returns every forwarding destination's outbox (viewer).
func (c *Client) Forwarding(ctx context.Context) ([]apiv1.ForwardingStatus, error) {
	return call[[]apiv1.ForwardingStatus](ctx, c, "GET", "/api/v1/forwarding", nil)
}
