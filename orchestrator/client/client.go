// Package client talks to the orchestrator's operator API: the CLI (`exechunt
// hosts`, `query`, `hunts`, `anomalies`, `tokens` …) over HTTPS, and the web UI
// in-process. Bodies are orchestrator/apiv1's types, the server's own.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Client is an operator API client.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a client for server (https://host:port) with a bearer token. caPEM,
// when set, is the only trusted root (the server's self-signed certificate).
func New(server, token string, caPEM []byte) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server %q: want https://host:port", server)
	}
	tc, err := TLSConfig(caPEM)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &Client{base: strings.TrimSuffix(server, "/"), token: token, hc: &http.Client{Transport: tr}}, nil
}

// NewWithHTTPClient is New with a given http.Client (tests: httptest's Client()).
func NewWithHTTPClient(server, token string, hc *http.Client) *Client {
	return &Client{base: strings.TrimSuffix(server, "/"), token: token, hc: hc}
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("server: %s (HTTP %d)", e.Message, e.Status) }

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return apiError(res)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(out)
}

func apiError(res *http.Response) error {
	var e apiv1.Error
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	return &Error{Status: res.StatusCode, Message: e.Error}
}

// call does one request and decodes its 2xx JSON answer into a T: every method
// of the client is this with a path.
func call[T any](ctx context.Context, c *Client, method, path string, body any) (T, error) {
	var out T
	err := c.do(ctx, method, path, body, &out)
	return out, err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// withQuery appends q (when not empty) to path.
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// HostFilter selects hosts in Hosts.
type HostFilter struct {
	Platforms  []string
	SeenWithin time.Duration
}

// Hosts lists hosts.
func (c *Client) Hosts(ctx context.Context, f HostFilter) ([]apiv1.Host, error) {
	q := url.Values{}
	if len(f.Platforms) > 0 {
		q.Set("platform", strings.Join(f.Platforms, ","))
	}
	if f.SeenWithin > 0 {
		q.Set("seen_within", f.SeenWithin.String())
	}
	out, err := call[apiv1.Hosts](ctx, c, "GET", withQuery("/api/v1/hosts", q), nil)
	return out.Hosts, err
}

// Whoami returns the token's name and role; any valid token may ask.
func (c *Client) Whoami(ctx context.Context) (apiv1.Whoami, error) {
	return call[apiv1.Whoami](ctx, c, "GET", "/api/v1/whoami", nil)
}

// Host returns one host, with the details osquery sent at enrollment.
func (c *Client) Host(ctx context.Context, id int64) (apiv1.Host, error) {
	return call[apiv1.Host](ctx, c, "GET", "/api/v1/hosts/"+itoa(id), nil)
}

// Queries lists the latest live queries, newest first.
func (c *Client) Queries(ctx context.Context, limit int) ([]apiv1.Query, error) {
	out, err := call[apiv1.Queries](ctx, c, "GET", "/api/v1/queries?limit="+strconv.Itoa(limit), nil)
	return out.Queries, err
}

// QueryRows returns every row of a live query so far, with its host.
func (c *Client) QueryRows(ctx context.Context, id int64) ([]apiv1.Row, error) {
	out, err := call[apiv1.Rows](ctx, c, "GET", "/api/v1/queries/"+itoa(id)+"/rows", nil)
	return out.Rows, err
}

// CreateQuery starts a live query.
func (c *Client) CreateQuery(ctx context.Context, req apiv1.CreateQueryRequest) (apiv1.Query, error) {
	return call[apiv1.Query](ctx, c, "POST", "/api/v1/queries", req)
}

// Query returns a live query with its hosts' states.
func (c *Client) Query(ctx context.Context, id int64) (apiv1.QueryDetail, error) {
	return call[apiv1.QueryDetail](ctx, c, "GET", "/api/v1/queries/"+itoa(id), nil)
}

// CancelQuery cancels a running live query.
func (c *Client) CancelQuery(ctx context.Context, id int64) error {
	return c.do(ctx, "POST", "/api/v1/queries/"+itoa(id)+"/cancel", nil, nil)
}

// Events receives a live query's stream; any method may be nil.
type Events struct {
	Query   func(apiv1.Query)
	Row     func(apiv1.Row)
	Host    func(apiv1.HostState)
	Summary func(apiv1.Query)
}

// Follow streams a live query's events (server-sent events) until its summary.
// It returns the summary; an error if the stream ends without one.
func (c *Client) Follow(ctx context.Context, id int64, ev Events) (apiv1.Query, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/queries/"+itoa(id)+"/events", nil)
	if err != nil {
		return apiv1.Query{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.hc.Do(req)
	if err != nil {
		return apiv1.Query{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return apiv1.Query{}, apiError(res)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var event string
	var data []byte
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event != "" {
				if done, q, err := dispatch(event, data, ev); err != nil || done {
					return q, err
				}
			}
			event, data = "", data[:0]
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
		}
	}
	if err := sc.Err(); err != nil {
		return apiv1.Query{}, err
	}
	return apiv1.Query{}, errors.New("the event stream ended without a summary")
}

func dispatch(event string, data []byte, ev Events) (bool, apiv1.Query, error) {
	var err error
	switch event {
	case "query", "summary":
		var q apiv1.Query
		if err = json.Unmarshal(data, &q); err != nil {
			break
		}
		if event == "summary" {
			if ev.Summary != nil {
				ev.Summary(q)
			}
			return true, q, nil
		}
		if ev.Query != nil {
			ev.Query(q)
		}
	case "row":
		var r apiv1.Row
		if err = json.Unmarshal(data, &r); err == nil && ev.Row != nil {
			ev.Row(r)
		}
	case "host":
		var h apiv1.HostState
		if err = json.Unmarshal(data, &h); err == nil && ev.Host != nil {
			ev.Host(h)
		}
	}
	if err != nil {
		return false, apiv1.Query{}, fmt.Errorf("bad %s event: %w", event, err)
	}
	return false, apiv1.Query{}, nil
}
