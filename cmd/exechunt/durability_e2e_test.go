package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// durableAgent posts result logs with unique rows, like osqueryd's TLS logger: a
// batch is retried, byte for byte the same lines, until the server answers 200;
// only then are its rows acknowledged.
type durableAgent struct {
	id     int
	url    string
	hc     *http.Client
	secret string

	mu                         sync.Mutex
	acked                      []string // uids acknowledged with HTTP 200
	posts, failures, reenrolls int
}

func (a *durableAgent) post(ctx context.Context, path, nodeKey string, body any) (map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", a.url+"/api/v1/osquery"+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if nodeKey != "" {
		req.Header.Set("Authorization", "NodeKey "+nodeKey)
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200s", res.StatusCode, rb)
	}
	var out map[string]any
	if err := json.Unmarshal(rb, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (a *durableAgent) enroll(ctx context.Context) string {
	uuid := fmt.Sprintf("DURABLE-%d", a.id)
	for ctx.Err() == nil {
		out, err := a.post(ctx, "/enroll", "", map[string]any{"enroll_secret": a.secret, "host_identifier": uuid,
			"platform_type": "9", "host_details": map[string]any{"system_info": map[string]string{
				"hostname": uuid, "uuid": uuid}}})
		if k, _ := out["node_key"].(string); err == nil && k != "" {
			return k
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}

func (a *durableAgent) run(ctx context.Context) {
	key := a.enroll(ctx)
	for batch := 0; ctx.Err() == nil; batch++ {
		n := 1 + rand.IntN(40)
		var lines []map[string]any
		var uids []string
		for r := range n {
			uid := fmt.Sprintf("a%d-b%d-r%d", a.id, batch, r)
			uids = append(uids, uid)
			lines = append(lines, map[string]any{"name": "pack_durability_rows", "hostIdentifier": "x",
				"calendarTime": "Thu Aug  6 12:00:00 2026 UTC", "unixTime": 1785931200 + batch, "epoch": 0,
				"counter": batch, "numerics": false, "columns": map[string]string{"uid": uid, "cmdline": "cmd.exe /c " + uid},
				"action": "added"})
		}
		for ctx.Err() == nil {
			a.mu.Lock()
			a.posts++
			a.mu.Unlock()
			out, err := a.post(ctx, "/log", key, map[string]any{"node_key": key, "log_type": "result", "data": lines})
			if err == nil && out["node_invalid"] == true {
				a.mu.Lock()
				a.reenrolls++
				a.mu.Unlock()
				key = a.enroll(ctx)
				continue
			}
			if err != nil {
				a.mu.Lock()
				a.failures++
				a.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
				continue
			}
			a.mu.Lock()
			a.acked = append(a.acked, uids...)
			a.mu.Unlock()
			break
		}
	}
}

func (a *durableAgent) ackedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acked)
}

// TestServeDurableUnderSIGKILL runs the built exechunt serve, has simulated agents
// post result logs with unique rows continuously, SIGKILLs the server at random
// moments and restarts it on the same data directory, then checks that every row
// acknowledged with HTTP 200 is in the store exactly once.
func TestServeDurableUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const agents, kills = 4, 5
	bin := buildExechunt(t)
	data := t.TempDir()
	listen := freeAddr(t)

	srv := startServe(t, bin, data, listen)
	hc := trustingClient(t, data, 10*time.Second)
	secret, err := os.ReadFile(filepath.Join(data, server.EnrollSecretFile))
	if err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	as := make([]*durableAgent, agents)
	for i := range as {
		as[i] = &durableAgent{id: i, url: "https://" + listen, hc: hc, secret: strings.TrimSpace(string(secret))}
		wg.Add(1)
		go func() { defer wg.Done(); as[i].run(ctx) }()
	}
	total := func() int {
		n := 0
		for _, a := range as {
			n += a.ackedCount()
		}
		return n
	}
	defer func() {
		stop()
		wg.Wait()
		if srv != nil {
			srv.cmd.Process.Kill()
			srv.cmd.Wait()
		}
	}()

	for k := range kills {
		before := total()
		// Let traffic flow, then kill at a random moment once rows are being acked.
		deadline := time.Now().Add(30 * time.Second)
		for total()-before < 50 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(700)) * time.Millisecond)
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		srv.cmd.Wait()
		t.Logf("kill %d: %d rows acknowledged so far", k+1, total())
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		srv = startServe(t, bin, data, listen)
	}
	// Some traffic after the last restart, then stop everything cleanly.
	before := total()
	for total()-before < 50 {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	srv.cmd.Process.Signal(os.Interrupt)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("serve exit: %v\n%s", err, srv.stderr.String())
	}
	srv = nil

	st, err := sqlite.Open(context.Background(), filepath.Join(data, server.DBFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Results(context.Background(), store.ResultFilter{Name: "pack_durability_rows"})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, r := range rows {
		stored[r.Columns["uid"]]++
	}
	missing, dup, acked, posts, failures, reenrolls := 0, 0, 0, 0, 0, 0
	for _, a := range as {
		posts, failures, reenrolls = posts+a.posts, failures+a.failures, reenrolls+a.reenrolls
		for _, uid := range a.acked {
			acked++
			if stored[uid] == 0 {
				missing++
				if missing <= 5 {
					t.Errorf("acknowledged row %s is not in the store", uid)
				}
			}
		}
	}
	for uid, n := range stored {
		if n > 1 {
			dup++
			if dup <= 5 {
				t.Errorf("row %s stored %d times", uid, n)
			}
		}
	}
	t.Logf("%d kills, %d agents, %d log POSTs (%d failed and retried, %d re-enrollments), %d rows acknowledged, "+
		"%d stored (%d not acknowledged: in flight at a kill), %d missing, %d duplicated",
		kills, agents, posts, failures, reenrolls, acked, len(stored), len(stored)-acked+missing, missing, dup)
}
