package forward

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Syslog framing limits (docs/forwarding.md).
const (
	defaultMaxMessage = 8192
	minMaxMessage     = 1024
	// SDID is the structured-data element of a forwarded event: 32473 is the
	// private enterprise number RFC 5612 reserves for documentation; a fleet
	// that owns a number can filter on the name alone.
	SDID = "exechunt@32473"
	// facilityLocal0 is the syslog facility of every message.
	facilityLocal0 = 16
	maxLabel       = 1024
)

// syslogSink writes RFC 5424 messages with octet-counting framing (RFC 6587)
// over one TCP or TLS connection, dialled again after a failure.
type syslogSink struct {
	addr    string
	tls     *tls.Config
	max     int
	timeout time.Duration
	now     func() time.Time
	host    string

	mu   sync.Mutex
	conn net.Conn
}

func newSyslog(addr string, tlsConf *tls.Config, maxMsg int, timeout time.Duration, now func() time.Time) *syslogSink {
	host, _ := os.Hostname()
	return &syslogSink{addr: addr, tls: tlsConf, max: maxMsg, timeout: timeout, now: now, host: host}
}

func (s *syslogSink) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.timeout}
	if s.tls == nil {
		return d.DialContext(ctx, "tcp", s.addr)
	}
	c := s.tls.Clone()
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(s.addr)
	}
	return (&tls.Dialer{NetDialer: d, Config: c}).DialContext(ctx, "tcp", s.addr)
}

func (s *syslogSink) Deliver(ctx context.Context, batch [][]byte) error {
	var frames []byte
	for _, p := range batch {
		var ev apiv1.ForwardEvent
		if err := json.Unmarshal(p, &ev); err != nil {
			return fmt.Errorf("syslog: event: %w", err)
		}
		msg := FormatSyslog(ev, s.host, os.Getpid(), s.max)
		frames = append(frames, strconv.Itoa(len(msg))+" "...)
		frames = append(frames, msg...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !alive(s.conn) {
		s.conn.Close()
		s.conn = nil
	}
	if s.conn == nil {
		c, err := s.dial(ctx)
		if err != nil {
			return err
		}
		s.conn = c
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetWriteDeadline(deadline)
	if _, err := s.conn.Write(frames); err != nil {
		s.conn.Close()
		s.conn = nil
		return err
	}
	return nil
}

// alive reports whether a connection kept from an earlier delivery is still
// open: a receiver that closed it (an idle timeout, a restart) would otherwise
// take the next write into the kernel's buffer and drop it. Syslog over TCP
// has no acknowledgements; this is as far as TCP tells.
func alive(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	c.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *syslogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// severity maps a hunt query's severity to a syslog severity.
func severity(s string) int {
	switch strings.ToLower(s) {
	case "critical":
		return 2
	case "high":
		return 3
	case "medium":
		return 4
	case "low":
		return 5
	}
	return 5 // notice
}

// FormatSyslog renders ev as one RFC 5424 message (without the octet count),
// at most maxLen bytes: the structured data carries the anomaly's id, rank,
// technique, state, actor and hosts (cut to fit), the message its label.
func FormatSyslog(ev apiv1.ForwardEvent, hostname string, pid, maxLen int) []byte {
	a := ev.Anomaly
	head := fmt.Sprintf("<%d>1 %s %s exechunt %d %s ", facilityLocal0*8+severity(a.Severity),
		ev.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), headerField(hostname, 255), pid,
		headerField(ev.Event, 32))
	params := [][2]string{{"event", ev.Event}, {"id", a.ID}, {"rank", strconv.FormatFloat(a.Rank, 'f', 3, 64)},
		{"technique", a.Technique}, {"severity", a.Severity}, {"state", a.State}, {"query", a.Query},
		{"host_count", strconv.Itoa(a.HostCount)}}
	if ev.Actor != "" {
		params = append(params, [2]string{"actor", ev.Actor})
	}
	if ev.Event == apiv1.EventAnomalyRankRaised {
		params = append(params, [2]string{"previous_rank", strconv.FormatFloat(ev.PreviousRank, 'f', 3, 64)})
	}
	var sd strings.Builder
	sd.WriteString("[" + SDID)
	for _, p := range params {
		sd.WriteString(" " + p[0] + `="` + sdEscape(p[1]) + `"`)
	}
	label := truncate(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(a.Label(), "?")), maxLabel)
	// The hosts take what room is left, whole names only.
	room := maxLen - len(head) - sd.Len() - len(` hosts=""]`) - 1 - len(label)
	var hosts []string
	used := 0
	for _, h := range a.Hosts {
		e := sdEscape(h)
		if used+len(e)+1 > room {
			break
		}
		hosts, used = append(hosts, e), used+len(e)+1
	}
	sd.WriteString(` hosts="` + strings.Join(hosts, ",") + `"]`)
	msg := head + sd.String() + " " + label
	return []byte(truncate(msg, maxLen))
}

// headerField is a header field: printable US-ASCII without spaces, or "-".
func headerField(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r <= 32 || r >= 127 {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// sdEscape escapes a structured-data parameter value (RFC 5424 6.3.3) and
// drops control characters.
func sdEscape(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "?") {
		switch {
		case r == '"' || r == '\\' || r == ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
