package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
)

// browserTools returns the Chromium and node binaries and the web/ folder with
// playwright-core installed, or why the browser test cannot run here.
func browserTools() (chromium, node, web string, why string) {
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		for _, c := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
			if p, err := exec.LookPath(c); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		return "", "", "", "no Chromium (apt-get install -y chromium, or set CHROMIUM)"
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", "", "no node (Node.js) on PATH"
	}
	web, _ = filepath.Abs("../../web")
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core", "package.json")); err != nil {
		return "", "", "", "playwright-core is not installed: run (cd web && npm ci)"
	}
	return chromium, node, web, ""
}

// TestWebUIBrowser runs the built exechunt serve with simulated agents that
// answer from corpus evidence, then drives the web UI in headless Chromium
// (web/e2e/ui.mjs): login, hosts, overview, a live query with rows streaming in,
// a process tree with its suspicious node, the script viewer, the hunts and
// anomalies pages, a narrow window. Screenshots go to $EXECHUNT_SCREENSHOTS
// (default: a temp dir, listed in the log).
func TestWebUIBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts a browser")
	}
	chromium, node, web, why := browserTools()
	if why != "" {
		t.Skipf("browser test skipped: %s", why)
	}
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	evidence := map[string]string{ // hostname → evidence the agent answers from
		"win-sliver": "sans-blue-team_DeepBlueCLI/evtx/sliver-sysmon.evtx",
		"win-ps":     "sans-blue-team_DeepBlueCLI/evtx/Powershell-Invoke-Obfuscation-encoding-menu.evtx",
		"win-wmi":    "mdecrevoisier_EVTX-to-MITRE-Attack/TA0002-Execution/T1047-Windows Management Instrumentation/ID1-WMI spwaning PowerShell process - WMImplant.evtx",
	}
	for name, f := range evidence {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("corpus file for %s missing: %v", name, err)
		}
		evidence[name] = p
	}
	shots := os.Getenv("EXECHUNT_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	bin := buildExechunt(t)
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	url, hc := startServe(t, bin, data, "127.0.0.1:0").url, trustingClient(t, data, 0)
	secret, _ := os.ReadFile(filepath.Join(data, "enroll_secret"))
	token, _ := os.ReadFile(filepath.Join(data, "admin_token"))

	agentCtx, stopAgents := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopAgents(); wg.Wait() }()
	i := 0
	for name, f := range evidence {
		r, err := simulate.NewRunner([]string{f}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		a := agentsim.New(agentsim.Config{Server: url, HTTP: hc, EnrollSecret: strings.TrimSpace(string(secret)),
			Host:   agentsim.Host{Hostname: name, UUID: fmt.Sprintf("SIM-UI-%d", i), Platform: "windows"},
			Runner: r, DistributedInterval: 500 * time.Millisecond, LogInterval: 2 * time.Second, Gzip: true})
		i++
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(agentCtx) }()
	}

	env := append(os.Environ(), "EXECHUNT_CLIENT_CONFIG="+filepath.Join(data, "client.json"),
		"EXECHUNT_SERVER=", "EXECHUNT_TOKEN=", "EXECHUNT_CA_FILE=")
	ids := map[string]int64{}
	deadline := time.Now().Add(30 * time.Second)
	for len(ids) < len(evidence) {
		cmd := exec.CommandContext(ctx, bin, "hosts", "--format", "json")
		cmd.Env = env
		out, err := cmd.Output()
		var hosts []struct {
			ID       int64  `json:"id"`
			Hostname string `json:"hostname"`
		}
		if err == nil && json.Unmarshal(out, &hosts) == nil {
			for _, h := range hosts {
				ids[h.Hostname] = h.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hosts did not enroll: %v %s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A hunt over live-lineage (not windowed: the evidence is years old) for the
	// browser to run now; its rows become the anomalies it triages.
	const hunt = "ui-live-lineage"
	create := exec.CommandContext(ctx, bin, "hunts", "create", "-")
	create.Env = env
	create.Stdin = strings.NewReader(`{"name": "` + hunt + `", "pack": "live-lineage", "targets": {"all": true},
		"mode": "dispatch", "schedule": "0 0 1 1 *"}`)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("hunts create: %v\n%s", err, out)
	}

	cmd := exec.CommandContext(ctx, node, filepath.Join(web, "e2e", "ui.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "EXECHUNT_URL="+url, "EXECHUNT_TOKEN="+strings.TrimSpace(string(token)),
		fmt.Sprintf("EXECHUNT_TREE_HOST=%d", ids["win-sliver"]), fmt.Sprintf("EXECHUNT_SCRIPT_HOST=%d", ids["win-ps"]),
		fmt.Sprintf("EXECHUNT_HOSTS=%d", len(evidence)), "SCREENSHOTS="+shots, "CHROMIUM="+chromium, "EXECHUNT_HUNT="+hunt)
	out, err := cmd.CombinedOutput()
	t.Logf("browser:\n%s", out)
	t.Logf("screenshots in %s", shots)
	if err != nil {
		t.Fatalf("browser test failed: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
