package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
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

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	const secret, token = "enroll-secret-for-sigma", "admin-token"
	if err := server.SeedEnrollSecret(ctx, st, secret, now); err != nil {
		t.Fatal(err)
	}
	if err := server.SeedAdminToken(ctx, st, token, now); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1024)
	srv, err := server.New(server.Config{Store: st, Packs: ps, Log: slog.New(logEvents{logs}),
		Hunts: hunts.Config{MaxLookback: 100 * 365 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()

	runner, err := simulate.NewRunner([]string{sample}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	agent := agentsim.New(agentsim.Config{Server: ts.URL, HTTP: ts.Client(), EnrollSecret: secret,
		Host: agentsim.Host{Hostname: "win-sample", UUID: "SIM-SIGMA", Platform: "windows"}, Runner: runner})
	if err := agent.Enroll(ctx); err != nil {
		t.Fatal(err)
	}
	api := client.NewWithHTTPClient(ts.URL, token, ts.Client())
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
