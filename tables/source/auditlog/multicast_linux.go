package auditlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/rule"
	"github.com/elastic/go-libaudit/v2/rule/flags"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// Multicast reads the kernel's audit records from the netlink multicast group
// (read-only: it coexists with auditd, which owns the unicast socket, and with
// osquery's own audit use) and joins them into process creations in the background.
type Multicast struct {
	client *libaudit.AuditClient
	q      queue
	cancel context.CancelFunc
	done   chan struct{}
}

// idleWait is how long the reader sleeps when the socket has nothing to read.
const idleWait = 100 * time.Millisecond

// OpenMulticast joins the kernel's audit multicast group and starts reading it.
// host names the events' computer. It fails with ErrNoMulticast when the kernel or
// the process's capabilities do not allow it.
func OpenMulticast(host string) (*Multicast, error) {
	client, err := libaudit.NewMulticastAuditClient(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoMulticast, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Multicast{client: client, cancel: cancel, done: make(chan struct{})}
	go m.run(ctx, host)
	return m, nil
}

// run receives records until Close, joining them in one Assembler.
func (m *Multicast) run(ctx context.Context, host string) {
	defer close(m.done)
	var a Assembler
	st := source.Stats{}
	opt := &source.Options{}
	s := &sink{name: StreamName, opt: opt, st: &st, emit: func(r *event.Record) error {
		if r.Computer == "" {
			r.Computer = host
		}
		r.Locator = ""
		return m.q.push(r)
	}}
	fail := func(err error) {
		m.q.mu.Lock()
		m.q.err = err
		m.q.mu.Unlock()
	}
	defer func() {
		if v := recover(); v != nil {
			fail(fmt.Errorf("audit stream: internal error: %v", v))
		}
	}()
	for ctx.Err() == nil {
		msg, err := m.client.Receive(true)
		switch {
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR):
			select {
			case <-ctx.Done():
			case <-time.After(idleWait):
			}
			continue
		case errors.Is(err, syscall.ENOBUFS):
			continue // the kernel dropped records we were too slow for; go on
		case err != nil:
			if ctx.Err() == nil {
				fail(fmt.Errorf("audit stream: %w", err))
			}
			return
		}
		if err := a.addMessage(uint16(msg.Type), msg.Data, s); err != nil {
			fail(err)
			return
		}
	}
}

// Drain hands the process creations completed since the last Drain to fn. It
// reports how many were dropped for want of a Drain (MaxQueued) and, once the stream
// has ended, why.
func (m *Multicast) Drain(fn func(*event.Event)) (dropped int64, err error) {
	return m.q.drain(fn)
}

// Close stops reading and leaves the multicast group.
func (m *Multicast) Close() error {
	m.cancel()
	<-m.done
	return m.client.Close()
}

// ExecveRules are the audit rules AddExecveRules installs: every execve and execveat,
// 64-bit and 32-bit, under the key exechunt.
var ExecveRules = []string{
	"-a always,exit -F arch=b64 -S execve,execveat -k exechunt",
	"-a always,exit -F arch=b32 -S execve,execveat -k exechunt",
}

// AddExecveRules installs ExecveRules in the kernel (needs CAP_AUDIT_CONTROL); rules
// already there are left as they are. It is called only when the configuration asks
// for it (audit_rules: [execve]).
func AddExecveRules() error {
	client, err := libaudit.NewAuditClient(nil)
	if err != nil {
		return fmt.Errorf("audit rules: %w", err)
	}
	defer client.Close()
	for _, text := range ExecveRules {
		r, err := flags.Parse(text)
		if err != nil {
			return fmt.Errorf("audit rule %q: %w", text, err)
		}
		wf, err := rule.Build(r)
		if err != nil {
			return fmt.Errorf("audit rule %q: %w", text, err)
		}
		if err := client.AddRule(wf); err != nil && !isExists(err) {
			return fmt.Errorf("audit rule %q: %w", text, err)
		}
	}
	return nil
}

// isExists tells a rule the kernel already has: go-libaudit turns EEXIST into the
// text "rule exists".
func isExists(err error) bool {
	return errors.Is(err, syscall.EEXIST) || strings.Contains(err.Error(), "rule exists")
}

// ExecveRuleLoaded reports whether the kernel has an audit rule on execve (needs
// CAP_AUDIT_CONTROL to ask): without one, the stream carries no process creations.
func ExecveRuleLoaded() (bool, error) {
	client, err := libaudit.NewAuditClient(nil)
	if err != nil {
		return false, fmt.Errorf("audit rules: %w", err)
	}
	defer client.Close()
	rules, err := client.GetRules()
	if err != nil {
		return false, fmt.Errorf("audit rules: %w", err)
	}
	for _, wf := range rules {
		if text, err := rule.ToCommandLine(wf, false); err == nil && strings.Contains(text, "execve") {
			return true, nil
		}
	}
	return false, nil
}
