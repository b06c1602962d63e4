package forward_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/forwardtest"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/forward"
	"github.com/exechunt/exechunt/orchestrator/server"
)

func TestFormatSyslogIsBoundedRFC5424(t *testing.T) {
	a := anomaly("abc", 0.83)
	a.Hosts = nil
	for i := range 2000 {
		a.Hosts = append(a.Hosts, fmt.Sprintf("workstation-%04d", i))
	}
	a.Values["name"] = `power"shell]\.exe` + "\n"
	ev := apiv1.ForwardEvent{Event: apiv1.EventAnomalyOpened, Time: time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC), Anomaly: a}
	msg := string(forward.FormatSyslog(ev, "orch 1", 42, 2048))
	if len(msg) > 2048 {
		t.Fatalf("message of %d bytes, bound 2048", len(msg))
	}
	head := "<131>1 2026-12-07T11:00:00.000000Z orch1 exechunt 42 anomaly.opened [" + forward.SDID + ` event="anomaly.opened" id="abc" rank="0.830" technique="T1059.001"`
	if !strings.HasPrefix(msg, head) {
		t.Fatalf("message starts %q, want %q", msg[:min(len(msg), len(head))], head)
	}
	if !strings.Contains(msg, `hosts="workstation-0000,workstation-0001,`) || strings.Contains(msg, "workstation-1999") {
		t.Fatalf("hosts not cut to fit: %s", msg)
	}
	if !strings.HasSuffix(msg, `"] winword.exe → power"shell]\.exe `) {
		t.Fatalf("message text: %q", msg[strings.LastIndex(msg, "]"):])
	}
}

// TestSyslogToRsyslog sends events to Debian's rsyslogd (imtcp on a loopback
// port) and reads them back from the file it writes.
func TestSyslogToRsyslog(t *testing.T) {
	rs := forwardtest.StartRsyslog(t)
	st := openStore(t, filepath.Join(t.TempDir(), "x.db"))
	defer st.Close()
	f, _ := start(t, st, "syslog+tcp://"+rs.Addr)
	if err := f.Observe(context.Background(), []apiv1.Anomaly{anomaly("s1", 0.7), anomaly("s2", 0.9)}); err != nil {
		t.Fatal(err)
	}
	var lines []string
	waitFor(t, "rsyslog's lines", func() bool {
		lines = rs.Lines()
		return len(lines) >= 2
	})
	for i, id := range []string{"s1", "s2"} {
		l := lines[i]
		if !strings.HasPrefix(l, "<131>1 ") || !strings.Contains(l, " exechunt ") ||
			!strings.Contains(l, "["+forward.SDID+` event="anomaly.opened" id="`+id+`"`) ||
			!strings.Contains(l, `technique="T1059.001"`) || !strings.Contains(l, `hosts="ws-01,ws-02"`) ||
			!strings.HasSuffix(l, "winword.exe → powershell.exe") {
			t.Fatalf("rsyslog line %d: %q", i, l)
		}
	}
}

// TestSyslogOverTLS: syslog+tls verifies the receiver against ca_file (and
// refuses it without), and frames each message with its octet count.
func TestSyslogOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert, _, _, err := server.LoadOrCreateCert(certFile, keyFile, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	msgs := make(chan string, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					n, err := r.ReadString(' ')
					if err != nil {
						return
					}
					size, err := strconv.Atoi(strings.TrimSpace(n))
					if err != nil {
						msgs <- "bad frame: " + n
						return
					}
					b := make([]byte, size)
					if _, err := io.ReadFull(r, b); err != nil {
						return
					}
					msgs <- string(b)
				}
			}()
		}
	}()
	st := openStore(t, filepath.Join(t.TempDir(), "x.db"))
	defer st.Close()
	addr := l.Addr().String()
	// Without ca_file the system roots do not know the receiver: no delivery.
	f, stop := start(t, st, "syslog+tls://"+addr)
	if err := f.Observe(context.Background(), []apiv1.Anomaly{anomaly("untrusted", 0.7)}); err != nil {
		t.Fatal(err)
	}
	var last string
	waitFor(t, "a failed try against the untrusted receiver", func() bool {
		s, err := f.Status(context.Background())
		return err == nil && len(s) == 1 && s[0].Retrying == 1
	})
	items, err := st.NextOutbox(context.Background(), "syslog+tls://"+addr, time.Now().Add(time.Hour), 1)
	if err == nil && len(items) == 1 {
		last = items[0].LastError
	}
	if !strings.Contains(last, "certificate") {
		t.Fatalf("last error %q, want a certificate verification failure", last)
	}
	stop()
	// With ca_file, the queued event and a new one go out in order, framed.
	f, _ = start(t, st, "syslog+tls://"+addr+"?ca_file="+url.QueryEscape(certFile))
	if err := f.Observe(context.Background(), []apiv1.Anomaly{anomaly("untrusted", 0.7), anomaly("t2", 0.8)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"untrusted", "t2"} {
		select {
		case m := <-msgs:
			if !strings.HasPrefix(m, "<131>1 ") || !strings.Contains(m, ` id="`+id+`"`) {
				t.Fatalf("message %q, want the one of %s", m, id)
			}
		case <-time.After(time.Minute): // hang guard
			t.Fatalf("no message for %s", id)
		}
	}
}
