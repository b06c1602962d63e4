package forward

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers (docs/forwarding.md shows a receiver checking them).
const (
	SignatureHeader = "X-Exechunt-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	TimestampHeader = "X-Exechunt-Timestamp" // Unix seconds when the request was signed
)

// maxResponse bounds what is read of a receiver's answer.
const maxResponse = 64 << 10

// Sign returns the signature header value of a body sent at timestamp (Unix
// seconds, as in TimestampHeader): the MAC covers both, so a recorded request
// cannot be replayed later with a fresh timestamp.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook request's signature and that its timestamp is within
// maxSkew of now: what a receiver written in Go does (docs/forwarding.md).
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("bad %s", TimestampHeader)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%s too far from now", TimestampHeader)
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return fmt.Errorf("bad %s", SignatureHeader)
	}
	return nil
}

// webhook POSTs a batch as a JSON array of events.
type webhook struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

func newWebhook(url string, secret []byte, tlsConf *tls.Config, timeout time.Duration, now func() time.Time) *webhook {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   2,
	}
	return &webhook{url: url, secret: secret, now: now, client: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// A redirect would send the signed body somewhere else: refuse it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (w *webhook) Deliver(ctx context.Context, batch [][]byte) error {
	body := append([]byte("["), bytes.Join(batch, []byte(","))...)
	body = append(body, ']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "exechunt-forward")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s: %s", resp.Status, excerpt(head))
	}
	return nil
}

func (w *webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

// excerpt is the start of a receiver's answer, printable, for an error.
func excerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		b = b[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "?"))
}
