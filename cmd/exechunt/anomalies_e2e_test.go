package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// dayOneLineage answers process_lineage queries as a Windows host of the day-one
// fleet: every host runs svchost under services.exe, 40 of 60 a software-management
// PowerShell that scores 60, and 3 of 60 (hosts 5, 25 and 45) Word starting
// PowerShell with a score of 30 — below the high-score threshold, so only its
// rarity can list it. The WHERE clauses of the live-lineage queries are honoured
// as far as these rows need.
func dayOneLineage(host int) agentsim.Runner {
	return agentsim.RunnerFunc(func(_ context.Context, sql string) ([]map[string]string, error) {
		if !strings.Contains(sql, "FROM process_lineage") {
			return nil, nil
		}
		rows := []map[string]string{{"parent_name": "services.exe", "name": "svchost.exe", "score": "0", "indicators": "",
			"cmdline": `C:\Windows\system32\svchost.exe -k netsvcs -p`}}
		if host < 40 {
			rows = append(rows, map[string]string{"parent_name": "ccmexec.exe", "name": "powershell.exe", "score": "60",
				"indicators": "execution_policy_bypass", "cmdline": `powershell.exe -ExecutionPolicy Bypass -File C:\Windows\CCM\inventory.ps1`})
		}
		if host%20 == 5 {
			rows = append(rows, map[string]string{"parent_name": "winword.exe", "name": "powershell.exe", "score": "30",
				"indicators": "office_child_shell", "cmdline": `powershell.exe -NoProfile -File C:\Users\alice\AppData\Roaming\invoice.ps1`})
		}
		where := ""
		if i := strings.Index(sql, " WHERE "); i >= 0 {
			where = sql[i:]
		}
		var out []map[string]string
		for _, r := range rows {
			score, _ := strconv.Atoi(r["score"])
			switch {
			case strings.Contains(where, "score >= 50") && score < 50:
			case strings.Contains(where, "office_child_shell") && !strings.Contains(r["indicators"], "office_child_shell"):
			default:
				out = append(out, r)
			}
		}
		return out, nil
	})
}

// dayOneFleet enrolls the 60 simulated Windows agents of the day-one fleet
// (dayOneLineage) with the server at url, their UUIDs prefixed by uuidPrefix.
func dayOneFleet(ctx context.Context, t *testing.T, url string, hc *http.Client, secret, uuidPrefix string) []*agentsim.Agent {
	t.Helper()
	agents := make([]*agentsim.Agent, 60)
	for i := range agents {
		agents[i] = agentsim.New(agentsim.Config{Server: url, HTTP: hc, EnrollSecret: secret,
			Host:   agentsim.Host{Hostname: fmt.Sprintf("ws%03d", i), UUID: fmt.Sprintf("%s-%03d", uuidPrefix, i), Platform: "windows"},
			Runner: dayOneLineage(i)})
		if err := agents[i].Enroll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return agents
}

// TestDayOneAnomaliesEndToEnd is issue 21's "done when" for stacking: a fresh
// orchestrator (the default 24 h learning window, in its first hour) with 60
// simulated Windows agents and two dispatched hunts. Through the CLI: a stack
// seen on 3 of 60 hosts ranks first on day one (rare, marked learning, not new);
// it is one anomaly for both hunts and both queries that returned it, with a
// short id and the same rank in `exechunt stacks`; `exechunt stacks nope/nope`
// fails naming the bad query; suppressing the anomaly by its short id takes it off
// the list.
func TestDayOneAnomaliesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("60 simulated agents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	p := startInProcess(ctx, t, server.Config{Packs: ps,
		// serve's default learning window; every read syncs with the store.
		Anomalies: anomalies.Options{BaselineWindow: 24 * time.Hour, SyncEvery: time.Nanosecond}})
	ts, api := p.ts, p.api()
	agents := dayOneFleet(ctx, t, ts.URL, ts.Client(), p.secret, "SIM-DAY1")
	for _, h := range []apiv1.HuntRequest{
		{Name: "rare-lineage", Pack: packs.DefaultPushPack},
		{Name: "lineage-sweep", Pack: "live-lineage", Queries: []string{"live_high_score_processes", "live_office_or_server_child_shell"}},
	} {
		h.Targets, h.Mode, h.Schedule = targeting.Targets{All: true}, store.ModeDispatch, "@every 24h"
		if _, err := api.CreateHunt(ctx, h); err != nil {
			t.Fatalf("create hunt %s: %v", h.Name, err)
		}
		if d := runHunt(ctx, t, api, p.logs, h.Name, agents...); d.Run.State != store.RunDone {
			t.Fatalf("run of %s: %+v", h.Name, d.Run)
		}
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600)
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetArgs(append(args, "--server", ts.URL, "--token", p.token, "--ca-file", caFile))
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	listJSON := func(args ...string) []apiv1.Anomaly {
		t.Helper()
		out, err := cli(append(args, "--format", "json")...)
		var list []apiv1.Anomaly
		if err != nil || json.Unmarshal([]byte(out), &list) != nil {
			t.Fatalf("exechunt %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return list
	}

	top := listJSON("anomalies")
	if len(top) == 0 {
		t.Fatal("no anomalies on day one")
	}
	for i, a := range top {
		t.Logf("%d. %s rank %.2f %s on %d hosts: %v", i+1, a.ID, a.Rank, a.Text(), a.HostCount, a.Reasons)
	}
	first := top[0]
	if first.Values["parent_name"] != "winword.exe" || first.Values["name"] != "powershell.exe" || first.HostCount != 3 || first.Answered != 60 {
		t.Fatalf("first on day one: %s on %d of %d hosts, want winword.exe → powershell.exe on 3 of 60", first.Text(), first.HostCount, first.Answered)
	}
	if !first.Rare || first.New || !first.Learning || first.HighScore || first.Reasons[0] != "rare: 3 of 60 hosts (5.0%)" {
		t.Errorf("day-one flags: rare %t new %t learning %t high %t reasons %q", first.Rare, first.New, first.Learning, first.HighScore, first.Reasons)
	}
	// One anomaly for the stack, whichever hunts and queries returned it.
	wantQueries := "[default-push/rare_parent_child_live live-lineage/live_office_or_server_child_shell]"
	if fmt.Sprint(first.Queries) != wantQueries || len(first.Hunts) != 2 || len(first.ID) != 10 {
		t.Errorf("queries %v hunts %v id %q", first.Queries, first.Hunts, first.ID)
	}
	seen := map[string]bool{}
	for _, a := range top {
		if seen[a.Text()] {
			t.Errorf("stack %s listed twice", a.Text())
		}
		seen[a.Text()] = true
	}
	// The table shows the short id and the learning mark.
	if out, err := cli("anomalies"); err != nil || !strings.Contains(out, first.ID) || !strings.Contains(out, "learning") {
		t.Errorf("exechunt anomalies: %v\n%s", err, out)
	}
	// exechunt stacks ranks it as exechunt anomalies does, under either query.
	for _, q := range first.Queries {
		found := false
		for _, sk := range listJSON("stacks", q) {
			if sk.ID == first.ID {
				found = true
				if sk.Rank != first.Rank || !sk.Rare {
					t.Errorf("stacks %s: rank %.2f rare %t, anomalies: %.2f", q, sk.Rank, sk.Rare, first.Rank)
				}
			}
		}
		if !found {
			t.Errorf("stacks %s lacks %s", q, first.ID)
		}
	}
	if out, err := cli("stacks", "nope/nope"); err == nil || !strings.Contains(err.Error()+out, `"nope/nope"`) {
		t.Errorf("stacks nope/nope: %v\n%s", err, out)
	}
	// An analyst can still suppress it, by its short id.
	if out, err := cli("triage", first.ID, "--suppress", "--why", "the finance team's invoice macro"); err != nil || !strings.Contains(out, "suppressed") {
		t.Fatalf("triage: %v\n%s", err, out)
	}
	for _, a := range listJSON("anomalies", "--state", "") {
		if a.ID == first.ID {
			t.Errorf("suppressed on day one, still listed: %+v", a)
		}
	}
}
