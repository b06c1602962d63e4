package fleettest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/agentapi"
	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/orchestrator/targeting"
	"github.com/exechunt/exechunt/packs"
)

// benign are background recordings (mostly OS and service process trees, see
// BENIGN.tsv); attack adds real attack recordings on a few hosts.
var (
	benign = []string{
		"sbousseaden_EVTX-ATTACK-SAMPLES/Privilege Escalation/privesc_unquoted_svc_sysmon_1_11.evtx",
		"sbousseaden_EVTX-ATTACK-SAMPLES/Persistence/persistence_sysmon_11_13_1_shime_appfix.evtx",
	}
	attack = []string{
		"sbousseaden_EVTX-ATTACK-SAMPLES/Execution/Sysmon_Exec_CompiledHTML.evtx",
		"sbousseaden_EVTX-ATTACK-SAMPLES/Execution/exec_sysmon_lobin_regsvr32_sct.evtx",
		"sbousseaden_EVTX-ATTACK-SAMPLES/Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
	}
)

type api struct {
	t     *testing.T
	url   string
	hc    *http.Client
	token string
}

func (a api) do(method, path string, body, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			a.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// TestFleetStackingRanksAttacks: 200 hosts answer a rare parent→child hunt from the
// benign background, then 3 of them also ran attacks. The attack stacks rank at the
// top; suppressing one moves it to the baseline; the background seen in the first
// (learning) run does not come back as new (its rare stacks are listed below the
// attacks).
func TestFleetStackingRanksAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("fleet test: 203 simulated agents")
	}
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := packs.Load(packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{Store: st, Packs: ps, Log: log, Version: "test",
		Anomalies:  anomalies.Options{BaselineWindow: time.Nanosecond, SyncEvery: time.Nanosecond},
		StackEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.Run(runCtx) }()
	defer func() { stop(); wg.Wait() }()

	now := time.Now()
	if err := st.AddEnrollSecret(ctx, store.EnrollSecret{Name: "s", Hash: agentapi.HashSecret("secret"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(ctx, store.Token{Name: "hunter", Role: apiv1.RoleAdmin, Hash: operatorapi.HashToken("tok"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	a := api{t: t, url: ts.URL, hc: ts.Client(), token: "tok"}

	// One runner per evidence set; agents answer one at a time, so runners are shared.
	runner := func(files ...string) agentsim.Runner {
		var paths []string
		for _, f := range files {
			paths = append(paths, filepath.Join(dir, f))
		}
		r, err := simulate.NewRunner(paths, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	var background []agentsim.Runner
	for _, f := range benign {
		background = append(background, runner(f))
	}
	attacked := map[int]agentsim.Runner{}
	for i, f := range attack {
		attacked[10+i*50] = runner(benign[(10+i*50)%len(benign)], f)
	}
	var mu sync.Mutex
	attacking := false
	agents := make([]*agentsim.Agent, 200)
	for i := range agents {
		i := i
		agents[i] = agentsim.New(agentsim.Config{Server: ts.URL, HTTP: ts.Client(), EnrollSecret: "secret",
			Host: agentsim.Host{Hostname: fmt.Sprintf("ws%03d", i), UUID: fmt.Sprintf("SIM-%03d", i), Platform: "windows"},
			Runner: agentsim.RunnerFunc(func(ctx context.Context, sql string) ([]map[string]string, error) {
				mu.Lock()
				r, bad := attacked[i]
				on := attacking
				mu.Unlock()
				if bad && on {
					return r.Run(ctx, sql)
				}
				return background[i%len(background)].Run(ctx, sql)
			})})
		if err := agents[i].Enroll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if code := a.do("POST", "/api/v1/hunts", apiv1.HuntRequest{Name: "rare-lineage", Pack: packs.DefaultPushPack,
		Targets: targeting.Targets{All: true}, Mode: store.ModeDispatch, Schedule: "@every 24h", Timeout: "2m"}, nil); code != 201 && code != 200 {
		t.Fatalf("create hunt: HTTP %d", code)
	}
	run := func() {
		var r struct {
			ID int64 `json:"id"`
		}
		if code := a.do("POST", "/api/v1/hunts/rare-lineage/run", nil, &r); code/100 != 2 {
			t.Fatalf("run: HTTP %d", code)
		}
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
			for _, ag := range agents {
				if _, err := ag.Distributed(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var got apiv1.HuntRunDetail
			a.do("GET", fmt.Sprintf("/api/v1/runs/%d", r.ID), nil, &got)
			if got.Run.State == store.RunDone {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatal("the run did not finish")
	}
	run() // the learning run: background only
	time.Sleep(10 * time.Millisecond)
	mu.Lock()
	attacking = true
	mu.Unlock()
	run()

	var top []apiv1.Anomaly
	a.do("GET", "/api/v1/anomalies?state=open&limit=10", nil, &top)
	if len(top) == 0 {
		t.Fatal("no anomalies")
	}
	attackHosts := map[string]bool{"ws010": true, "ws060": true, "ws110": true}
	onAttackHosts := func(x apiv1.Anomaly) bool {
		for _, h := range x.Hosts {
			if !attackHosts[h] {
				return false
			}
		}
		return true
	}
	attacks, backgroundSeen := 0, false
	for i, x := range top {
		t.Logf("%d. rank %.2f %v on %d hosts: %v", i+1, x.Rank, x.Values, x.HostCount, x.Reasons)
		if onAttackHosts(x) {
			attacks++
			if backgroundSeen {
				t.Errorf("attack stack %v ranked below a background stack", x.Values)
			}
			if !x.New || !x.Rare {
				t.Errorf("attack stack %v: new=%t rare=%t", x.Values, x.New, x.Rare)
			}
			continue
		}
		// Background stacks are listed for rarity or a high score; never as new.
		backgroundSeen = true
		if x.New || (!x.HighScore && !x.Rare) {
			t.Errorf("background stack %v: new=%t rare=%t high=%t", x.Values, x.New, x.Rare, x.HighScore)
		}
	}
	if attacks < 6 {
		t.Errorf("only %d attack stacks in the top 10", attacks)
	}
	if top[0].MaxScore < 50 {
		t.Errorf("the best-ranked anomaly scores %d", top[0].MaxScore)
	}
	// Suppress the first: it leaves the open list and joins the baseline.
	first := top[0]
	var after apiv1.Anomaly
	if code := a.do("POST", "/api/v1/anomalies/"+first.ID+"/triage", map[string]string{"state": "suppressed", "reason": "lab test"}, &after); code != 200 || after.New {
		t.Fatalf("suppress: HTTP %d %+v", code, after)
	}
	var open []apiv1.Anomaly
	a.do("GET", "/api/v1/anomalies?state=open&limit=100", nil, &open)
	for _, x := range open {
		if x.ID == first.ID {
			t.Errorf("suppressed anomaly still open")
		}
	}
}
