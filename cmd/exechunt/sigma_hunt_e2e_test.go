package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
)

// TestSigmaHunt serves a SigmaHQ rule converted at start (serve --sigma), creates a
// hunt over the resulting pack, dispatches it to a simulated Windows agent whose
// tables read the rule's SigmaHQ regression sample, and gets the sample's one match.
func TestSigmaHunt(t *testing.T) {
	sample, rule := renamedBinaryRule(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ps, err := loadServePacks("", []string{rule}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	const pack = "sigma-process-creation-windows"
	found := false
	for _, p := range ps {
		found = found || (p.Name == pack && len(p.Queries) == 1)
	}
	if !found {
		t.Fatalf("no %s pack with one query among the served packs", pack)
	}

	p := startInProcess(ctx, t, server.Config{Packs: ps, Hunts: hunts.Config{MaxLookback: 100 * 365 * 24 * time.Hour}})
	ts, logs := p.ts, p.logs

	runner, err := simulate.NewRunner([]string{sample}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	agent := agentsim.New(agentsim.Config{Server: ts.URL, HTTP: ts.Client(), EnrollSecret: p.secret,
		Host: agentsim.Host{Hostname: "win-sample", UUID: "SIM-SIGMA", Platform: "windows"}, Runner: runner})
	if err := agent.Enroll(ctx); err != nil {
		t.Fatal(err)
	}
	api := p.api()
	if _, err := api.CreateHunt(ctx, apiv1.HuntRequest{Name: "sigma-renamed-binaries", Pack: pack,
		Targets: targeting.Targets{All: true}, Mode: store.ModeDispatch, Schedule: "@every 87600h"}); err != nil {
		t.Fatal(err)
	}
	d := runHunt(ctx, t, api, logs, "sigma-renamed-binaries", agent)
	if d.Run.State != store.RunDone || d.Run.HostsResponded != 1 || d.Run.Rows != 1 {
		t.Fatalf("run = %+v, want done with the sample's 1 match", d.Run)
	}
	page, err := api.RunRows(ctx, d.Run.ID, "", 0, 10)
	if err != nil || len(page.Rows) != 1 || page.Rows[0].Query != "proc_creation_win_renamed_binary" {
		t.Fatalf("rows %+v, %v", page, err)
	}
}
