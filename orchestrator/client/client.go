// Package client talks to the orchestrator's operator API (what `exechunt hosts`
// and `exechunt query` use).
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

	"github.com/exechunt/exechunt/orchestrator/operatorapi"
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
	var e struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	return &Error{Status: res.StatusCode, Message: e.Error}
}

// HostFilter selects hosts in Hosts.
type HostFilter struct {
	Platforms  []string
	SeenWithin time.Duration
}

// Hosts lists hosts.
func (c *Client) Hosts(ctx context.Context, f HostFilter) ([]operatorapi.Host, error) {
	q := url.Values{}
	if len(f.Platforms) > 0 {
		q.Set("platform", strings.Join(f.Platforms, ","))
	}
	if f.SeenWithin > 0 {
		q.Set("seen_within", f.SeenWithin.String())
	}
	var out struct {
		Hosts []operatorapi.Host `json:"hosts"`
	}
	path := "/api/v1/hosts"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	err := c.do(ctx, "GET", path, nil, &out)
	return out.Hosts, err
}

// CreateQuery starts a live query.
func (c *Client) CreateQuery(ctx context.Context, req operatorapi.CreateQueryRequest) (operatorapi.Query, error) {
	var q operatorapi.Query
	err := c.do(ctx, "POST", "/api/v1/queries", req, &q)
	return q, err
}

// Query returns a live query with its hosts' states.
func (c *Client) Query(ctx context.Context, id int64) (operatorapi.QueryDetail, error) {
	var d operatorapi.QueryDetail
	err := c.do(ctx, "GET", "/api/v1/queries/"+strconv.FormatInt(id, 10), nil, &d)
	return d, err
}

// CancelQuery cancels a running live query.
func (c *Client) CancelQuery(ctx context.Context, id int64) error {
	return c.do(ctx, "POST", "/api/v1/queries/"+strconv.FormatInt(id, 10)+"/cancel", nil, nil)
}

// Events receives a live query's stream; any method may be nil.
type Events struct {
	Query   func(operatorapi.Query)
	Row     func(operatorapi.Row)
	Host    func(operatorapi.HostState)
	Summary func(operatorapi.Query)
}

// Follow streams a live query's events (server-sent events) until its summary.
// It returns the summary; an error if the stream ends without one.
func (c *Client) Follow(ctx context.Context, id int64, ev Events) (operatorapi.Query, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/queries/"+strconv.FormatInt(id, 10)+"/events", nil)
	if err != nil {
		return operatorapi.Query{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.hc.Do(req)
	if err != nil {
		return operatorapi.Query{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return operatorapi.Query{}, apiError(res)
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
		return operatorapi.Query{}, err
	}
	return operatorapi.Query{}, errors.New("the event stream ended without a summary")
}

func dispatch(event string, data []byte, ev Events) (bool, operatorapi.Query, error) {
	var err error
	switch event {
	case "query", "summary":
		var q operatorapi.Query
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
		var r operatorapi.Row
		if err = json.Unmarshal(data, &r); err == nil && ev.Row != nil {
			ev.Row(r)
		}
	case "host":
		var h operatorapi.HostState
		if err = json.Unmarshal(data, &h); err == nil && ev.Host != nil {
			ev.Host(h)
		}
	}
	if err != nil {
		return false, operatorapi.Query{}, fmt.Errorf("bad %s event: %w", event, err)
	}
	return false, operatorapi.Query{}, nil
}
