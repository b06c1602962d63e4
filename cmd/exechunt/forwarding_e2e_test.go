package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/forwardtest"
	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/forward"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// TestForwardingEndToEnd is issue 23's "done when": the day-one fleet (Word
// starting PowerShell on 3 of 60 hosts) with serve's --forward to a signed
// HTTPS webhook and to rsyslogd: the anomaly reaches the webhook once, signed,
// and rsyslog as one RFC 5424 line; triaging it forwards who did; `exechunt
// forwarding status` shows the queues delivered.
func TestForwardingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("60 simulated agents")
	}
	rs := forwardtest.StartRsyslog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	hook := forwardtest.NewReceiver(t)
	dests, err := forward.ParseAll([]string{hook.URL(forwardtest.SecretFile(t), ""), "syslog+tcp://" + rs.Addr}, forward.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := startInProcess(ctx, t, server.Config{Packs: ps, Forward: dests, StackEvery: 50 * time.Millisecond,
		Forwarding: forward.Config{Poll: 20 * time.Millisecond},
		Anomalies:  anomalies.Options{BaselineWindow: 24 * time.Hour, SyncEvery: time.Nanosecond}})
	ts, api := p.ts, p.api()
	agents := dayOneFleet(ctx, t, ts.URL, ts.Client(), p.secret, "SIM-FWD")
	h := apiv1.HuntRequest{Name: "lineage-sweep", Pack: "live-lineage", Queries: []string{"live_office_or_server_child_shell"},
		Targets: targeting.Targets{All: true}, Mode: store.ModeDispatch, Schedule: "@every 24h"}
	if _, err := api.CreateHunt(ctx, h); err != nil {
		t.Fatal(err)
	}
	if d := runHunt(ctx, t, api, p.logs, h.Name, agents...); d.Run.State != store.RunDone {
		t.Fatalf("run: %+v", d.Run)
	}
	var word apiv1.ForwardEvent
	forwardtest.WaitFor(t, "the Word → PowerShell anomaly at the webhook", func() bool {
		for _, e := range hook.Events() {
			if e.Anomaly.Values["parent_name"] == "winword.exe" && e.Anomaly.Values["name"] == "powershell.exe" {
				word = e
				return true
			}
		}
		return false
	})
	if word.Event != apiv1.EventAnomalyOpened || word.Anomaly.HostCount != 3 || len(word.Anomaly.Hosts) != 3 ||
		word.Anomaly.Technique == "" {
		t.Fatalf("webhook event: %s, %d hosts %v, technique %q", word.Event, word.Anomaly.HostCount, word.Anomaly.Hosts,
			word.Anomaly.Technique)
	}
	id := word.Anomaly.ID
	var line string
	forwardtest.WaitFor(t, "its rsyslog line", func() bool {
		for _, l := range rs.Lines() {
			if strings.Contains(l, ` id="`+id+`"`) {
				line = l
				return true
			}
		}
		return false
	})
	if !strings.Contains(line, `event="anomaly.opened"`) || !strings.Contains(line, `technique="`+word.Anomaly.Technique+`"`) ||
		!strings.Contains(line, `host_count="3"`) || !strings.HasSuffix(line, "winword.exe → powershell.exe") {
		t.Fatalf("rsyslog line: %s", line)
	}
	// Triaging it is forwarded with the actor.
	who, err := api.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Triage(ctx, id, apiv1.TriageAcknowledged, "looking"); err != nil {
		t.Fatal(err)
	}
	forwardtest.WaitFor(t, "the triage at the webhook", func() bool {
		evs := hook.Events()
		return evs[len(evs)-1].Event == apiv1.EventAnomalyTriaged
	})
	opened := 0
	for _, e := range hook.Events() {
		if e.Anomaly.ID == id && e.Event == apiv1.EventAnomalyOpened {
			opened++
		}
	}
	evs := hook.Events()
	if last := evs[len(evs)-1]; opened != 1 || last.Anomaly.ID != id || last.Actor != who.Name ||
		last.Anomaly.State != apiv1.TriageAcknowledged {
		t.Fatalf("%d opened events for %s; last event %s by %q state %s", opened, id, last.Event, last.Actor, last.Anomaly.State)
	}
	if bad := hook.Refused(); len(bad) > 0 {
		t.Fatalf("webhook requests refused: %v", bad)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600)
	cli := func(args ...string) string {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetArgs(append([]string{"forwarding", "status", "--server", ts.URL, "--token", p.token, "--ca-file", caFile}, args...))
		root.SetOut(&out)
		root.SetErr(&out)
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatalf("forwarding status: %v\n%s", err, out.String())
		}
		return out.String()
	}
	out := cli("--format", "json")
	var status []apiv1.ForwardingStatus
	if err := json.Unmarshal([]byte(out), &status); err != nil || len(status) != 2 {
		t.Fatalf("forwarding status: %v\n%s", err, out)
	}
	if table := cli(); !strings.Contains(table, "DESTINATION") || !strings.Contains(table, "syslog+tcp://"+rs.Addr) {
		t.Errorf("forwarding status table:\n%s", table)
	}
	for _, s := range status {
		if !s.Configured || s.Delivered == 0 || s.Dead != 0 {
			t.Errorf("status of %s: %+v", s.Destination, s)
		}
	}
}

// TestForwardingSurvivesSIGKILL runs the built exechunt serve with --forward to
// a webhook that is down: the day-one anomalies are queued and retried; serve is
// SIGKILLed with the queue pending, the receiver comes back, serve starts again
// on the same data directory and delivers every queued event, none twice
// (the order across a restart: TestQueueSurvivesRestart in orchestrator/forward).
func TestForwardingSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildExechunt(t)
	data, listen := t.TempDir(), freeAddr(t)
	hook := forwardtest.NewReceiver(t)
	hook.Down.Store(true)
	// The restarted serve is another replica: it delivers once the killed one's
	// lease has run out, so the lease is short here.
	fwd := []string{"--forward", hook.URL(forwardtest.SecretFile(t), ""), "--lease-ttl", "3s"}
	srv := startServe(t, bin, data, listen, fwd...)
	hc := trustingClient(t, data, 10*time.Second)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	url := "https://" + listen
	api := client.NewWithHTTPClient(url, read(server.AdminTokenFile), hc)
	agents := dayOneFleet(ctx, t, url, hc, read(server.EnrollSecretFile), "SIM-KILL")
	h := apiv1.HuntRequest{Name: "lineage-sweep", Pack: "live-lineage", Queries: []string{"live_office_or_server_child_shell"},
		Targets: targeting.Targets{All: true}, Mode: store.ModeDispatch, Schedule: "@every 24h"}
	if _, err := api.CreateHunt(ctx, h); err != nil {
		t.Fatal(err)
	}
	run, err := api.RunHunt(ctx, h.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if _, err := a.Distributed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	forwardtest.WaitFor(t, "the hunt run to end", func() bool {
		d, err := api.HuntRun(ctx, run.ID)
		return err == nil && d.Run.State == store.RunDone
	})
	status := func() apiv1.ForwardingStatus {
		list, err := api.Forwarding(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("forwarding status: %v %v", list, err)
		}
		return list[0]
	}
	forwardtest.WaitFor(t, "queued events failing against the down receiver", func() bool { return status().Retrying > 0 })
	queued := status().Queued
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	hook.Down.Store(false)
	startServe(t, bin, data, listen, fwd...)
	forwardtest.WaitFor(t, "the queue delivered after the restart", func() bool {
		s := status()
		return s.Queued == 0 && s.Delivered >= queued
	})
	seen := map[string]bool{}
	word := false
	for _, e := range hook.Events() {
		k := e.Event + "/" + e.Anomaly.ID
		if seen[k] {
			t.Errorf("%s delivered twice", k)
		}
		seen[k] = true
		word = word || e.Anomaly.Values["parent_name"] == "winword.exe"
	}
	if len(hook.Events()) < queued || !word {
		t.Fatalf("received %d events (%d were queued at the kill), Word → PowerShell among them: %t", len(hook.Events()), queued, word)
	}
	if bad := hook.Refused(); len(bad) > 0 {
		t.Fatalf("webhook requests refused: %v", bad)
	}
}

// TestServeRefusesBadForward: serve checks every --forward URL before it opens
// the store, and says which destination is wrong without showing credentials.
func TestServeRefusesBadForward(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"ftp://siem.example/x", `unknown scheme "ftp"`},
		{"https://siem.example/hook", "needs an HMAC secret"},
		{"https://u:hunter2@siem.example/hook", "credentials in the URL"},
	} {
		var out bytes.Buffer
		root := newRootCmd()
		data := t.TempDir()
		root.SetArgs([]string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--forward", tc.url})
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.ExecuteContext(context.Background())
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("serve --forward %s: %v, want a usage error with %q", tc.url, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(data, "exechunt.db")); err == nil {
			t.Errorf("serve --forward %s opened the store before refusing", tc.url)
		}
	}
}
