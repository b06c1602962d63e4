package forward

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/client"
)

// Sink is where a destination's messages go: one small interface per scheme.
// Deliver sends a batch of payloads (each one JSON-encoded apiv1.ForwardEvent),
// in order, and returns nil only when the destination has them all; on an error
// the whole batch is tried again later (at-least-once).
type Sink interface {
	Deliver(ctx context.Context, batch [][]byte) error
	Close() error
}

// Destination is one configured forwarding target: a sink with what it wants.
type Destination struct {
	// Name identifies the destination's queue in the outbox: its URL without
	// the query and user info (so that changing its options keeps the queue).
	Name string
	// Anomalies: anomaly events are sent (events=anomalies, the default).
	Anomalies bool
	// MinRank: anomaly events of anomalies ranked lower are not sent.
	MinRank float64
	// Packs: when set, only anomalies returned by a query of these packs.
	Packs []string
	Sink  Sink
}

// Options are the serve-wide defaults of destinations.
type Options struct {
	// SecretFile holds the webhook's HMAC secret when the URL has no
	// secret_file.
	SecretFile string
	// Timeout bounds every network call of a delivery (default 10s).
	Timeout time.Duration
	Now     func() time.Time
}

// Parse validates one --forward URL and opens its sink. Errors name the
// destination without secrets.
func Parse(raw string, opt Options) (*Destination, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--forward: not a URL: %v", redactErr(err))
	}
	if u.User != nil {
		return nil, fmt.Errorf("--forward %s: credentials in the URL are not supported (use secret_file)", Redact(u))
	}
	d := &Destination{Name: Redact(u), Anomalies: true}
	fail := func(format string, args ...any) (*Destination, error) {
		return nil, fmt.Errorf("--forward "+d.Name+": "+format, args...)
	}
	q := u.Query()
	known := map[string]bool{"events": true, "min_rank": true, "packs": true}
	switch u.Scheme {
	case "https":
		known["secret_file"], known["ca_file"] = true, true
	case "syslog+tls":
		known["ca_file"] = true
		known["max_message"] = true
	case "syslog+tcp":
		known["max_message"] = true
	case "file":
		known["max_size_mb"], known["max_files"] = true, true
	default:
		return fail("unknown scheme %q (https, syslog+tcp, syslog+tls, file)", u.Scheme)
	}
	for k := range q {
		if !known[k] {
			return fail("unknown option %q for %s", k, u.Scheme)
		}
	}
	if v := q.Get("events"); v != "" {
		d.Anomalies = false
		for _, e := range strings.Split(v, ",") {
			switch strings.TrimSpace(e) {
			case "anomalies":
				d.Anomalies = true
			case "results":
				return fail("events=results is not supported yet (only anomalies)")
			default:
				return fail("unknown event kind %q (anomalies)", e)
			}
		}
	}
	if v := q.Get("min_rank"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 1 {
			return fail("min_rank %q: want a number from 0 to 1", v)
		}
		d.MinRank = r
	}
	if v := q.Get("packs"); v != "" {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				d.Packs = append(d.Packs, p)
			}
		}
	}
	var tlsConf *tls.Config
	if u.Scheme == "https" || u.Scheme == "syslog+tls" {
		if tlsConf, err = clientTLS(q.Get("ca_file")); err != nil {
			return fail("%v", err)
		}
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fail("no host")
		}
		path := q.Get("secret_file")
		if path == "" {
			path = opt.SecretFile
		}
		if path == "" {
			return fail("a webhook needs an HMAC secret: secret_file=PATH or serve --forward-secret-file")
		}
		secret, err := readSecret(path)
		if err != nil {
			return fail("%v", err)
		}
		target := *u
		target.RawQuery = ""
		d.Sink = newWebhook(target.String(), secret, tlsConf, opt.Timeout, opt.Now)
	case "syslog+tcp", "syslog+tls":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return fail("want host:port")
		}
		maxMsg := defaultMaxMessage
		if v := q.Get("max_message"); v != "" {
			if maxMsg, err = strconv.Atoi(v); err != nil || maxMsg < minMaxMessage {
				return fail("max_message %q: want a byte count of at least %d", v, minMaxMessage)
			}
		}
		d.Sink = newSyslog(u.Host, tlsConf, maxMsg, opt.Timeout, opt.Now)
	case "file":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return fail("want file:///absolute/path.jsonl")
		}
		size, files := 100, 5
		if v := q.Get("max_size_mb"); v != "" {
			if size, err = strconv.Atoi(v); err != nil || size < 1 {
				return fail("max_size_mb %q: want a positive number of megabytes", v)
			}
		}
		if v := q.Get("max_files"); v != "" {
			if files, err = strconv.Atoi(v); err != nil || files < 1 {
				return fail("max_files %q: want a positive number of rotated files to keep", v)
			}
		}
		s, err := newFile(u.Path, size, files)
		if err != nil {
			return fail("%v", err)
		}
		d.Sink = s
	}
	return d, nil
}

// ParseAll parses every --forward URL; two with one name are refused.
func ParseAll(raws []string, opt Options) ([]*Destination, error) {
	var out []*Destination
	var names []string
	closeAll := func() {
		for _, d := range out {
			d.Sink.Close()
		}
	}
	for _, raw := range raws {
		d, err := Parse(raw, opt)
		if err != nil {
			closeAll()
			return nil, err
		}
		if slices.Contains(names, d.Name) {
			closeAll()
			d.Sink.Close()
			return nil, fmt.Errorf("--forward %s: given twice", d.Name)
		}
		names = append(names, d.Name)
		out = append(out, d)
	}
	return out, nil
}

// Redact is a destination's URL without its query and user info.
func Redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment = nil, "", false, ""
	return c.String()
}

// redactErr drops the URL a url.Error repeats (it may hold a secret).
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// maxSecret bounds the secret file read.
const maxSecret = 4096

func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecret+1))
	if err != nil {
		return nil, fmt.Errorf("secret_file %s: %w", path, err)
	}
	if len(b) > maxSecret {
		return nil, fmt.Errorf("secret_file %s: longer than %d bytes", path, maxSecret)
	}
	secret := []byte(strings.TrimSpace(string(b)))
	if len(secret) < 16 {
		return nil, fmt.Errorf("secret_file %s: the secret must be at least 16 bytes", path)
	}
	return secret, nil
}

// clientTLS is the TLS client config of a destination (client.TLSConfig: the
// system roots, or only caFile's when given); verification is always on.
func clientTLS(caFile string) (*tls.Config, error) {
	var pem []byte
	if caFile != "" {
		var err error
		if pem, err = os.ReadFile(caFile); err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
	}
	c, err := client.TLSConfig(pem)
	if err != nil {
		return nil, fmt.Errorf("ca_file %s: %w", caFile, err)
	}
	return c, nil
}
