package stack

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

var (
	t0   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	hunt = Query{Name: "parent_child", Technique: "T1059", Severity: "medium", Stack: []string{"parent_name", "name"}}
)

func row(parent, name, score, indicators string) map[string]string {
	return map[string]string{"parent_name": parent, "name": name, "score": score, "indicators": indicators}
}

// fleet stacks a day of 200 ordinary hosts, one of which runs a rare admin tool.
func fleet(s *Stacker, day time.Time) {
	for h := 0; h < 200; h++ {
		rows := []map[string]string{row("services.exe", "svchost.exe", "0", ""), row("explorer.exe", "chrome.exe", "0", "")}
		if h == 7 {
			rows = append(rows, row("cmd.exe", "psexec.exe", "20", ""))
		}
		s.Add(hunt, fmt.Sprintf("ws%03d", h), day, rows)
	}
}

func TestAttackStacksRankFirst(t *testing.T) {
	s := New()
	fleet(s, t0)
	s.LearnBaseline(t0) // the first day is the learning window
	fleet(s, t0.Add(24*time.Hour))
	for _, h := range []string{"ws010", "ws020", "ws030"} {
		s.Add(hunt, h, t0.Add(25*time.Hour), []map[string]string{row("winword.exe", "powershell.exe", "95", "office_child_shell,encoded_command")})
	}
	s.Add(hunt, "ws040", t0.Add(26*time.Hour), []map[string]string{row("w3wp.exe", "cmd.exe", "60", "webserver_child_shell")})

	top := s.Top(DefaultThresholds, 10)
	if len(top) != 2 {
		for _, a := range top {
			t.Logf("%s %.2f %v", a.Key, a.Rank, a.Reasons)
		}
		t.Fatalf("anomalies = %d, want the 2 attack stacks only", len(top))
	}
	if top[0].Values["parent_name"] != "winword.exe" || !top[0].Rare || !top[0].New || !top[0].HighScore {
		t.Errorf("first = %+v", top[0])
	}
	if top[0].HostCount != 3 || top[0].Prevalence != 3.0/200 || top[0].Answered != 200 || top[0].Technique != hunt.Technique {
		t.Errorf("host count %d prevalence %v answered %d technique %q", top[0].HostCount, top[0].Prevalence, top[0].Answered, top[0].Technique)
	}
	if got := top[0].Hosts; len(got) != 3 || got[0] != "ws010" {
		t.Errorf("hosts = %v", got)
	}
	if len(top[0].Reasons) != 3 || top[0].Reasons[2] != "score 95 (encoded_command, office_child_shell)" {
		t.Errorf("reasons = %q", top[0].Reasons)
	}
	// The rare admin tool was seen during the learning window: not new, not an anomaly.
	for _, a := range s.Anomalies(DefaultThresholds) {
		if a.Values["name"] == "psexec.exe" {
			t.Errorf("baseline stack came back: %+v", a)
		}
	}
	// Suppressing the web-server stack puts it in the baseline: still high-scoring, so
	// still listed, but no longer new, and ranked lower.
	web := top[1]
	s.MarkNormal(hunt.Name, web.Key)
	for _, a := range s.Anomalies(DefaultThresholds) {
		if a.Key == web.Key && a.New {
			t.Errorf("suppressed stack is still new")
		}
	}
}

func TestNewButCommonIsNotAnomaly(t *testing.T) {
	s := New()
	fleet(s, t0)
	s.LearnBaseline(t0)
	for h := 0; h < 200; h++ { // a software rollout reaches every host
		s.Add(hunt, fmt.Sprintf("ws%03d", h), t0.Add(48*time.Hour), []map[string]string{row("msiexec.exe", "newagent.exe", "0", "")})
	}
	if a := s.Anomalies(DefaultThresholds); len(a) != 0 {
		t.Errorf("rollout reported: %+v", a[0])
	}
}

func TestShapeStacking(t *testing.T) {
	s := New()
	q := Query{Name: "shapes", Stack: []string{"name", ShapeColumn}}
	for h := 0; h < 50; h++ {
		s.Add(q, fmt.Sprintf("h%d", h), t0, []map[string]string{{"name": "conhost.exe", "cmdline": fmt.Sprintf(`\??\C:\Windows\system32\conhost.exe 0x%x -ForceV1`, h+1)}})
	}
	if st := s.Stacks("shapes"); len(st) != 1 || st[0].HostCount != 50 || len(st[0].Examples) != MaxExamples {
		t.Fatalf("stacks = %d", len(st))
	}
}

// BenchmarkIngest stacks 2,000 hosts × 1,000 process rows (2 million rows; set
// EXECHUNT_BENCH_STACK_HOSTS=10000 for 10 million) and lists the top 100 anomalies,
// reporting rows/s, the listing time and the heap the stacks hold.
func BenchmarkIngest(b *testing.B) {
	hosts, rowsPerHost := 2000, 1000
	if n, err := strconv.Atoi(os.Getenv("EXECHUNT_BENCH_STACK_HOSTS")); err == nil && n > 0 {
		hosts = n // 10000 for the 10 million rows
	}
	q := Query{Name: "processes", Stack: []string{"parent_name", "name", ShapeColumn}}
	batch := make([][]map[string]string, 50)
	for v := range batch {
		rows := make([]map[string]string, rowsPerHost)
		for i := range rows {
			rows[i] = map[string]string{"parent_name": fmt.Sprintf("parent%d.exe", i%40), "name": fmt.Sprintf("proc%d.exe", i%300),
				"cmdline": fmt.Sprintf(`C:\Program Files\App%d\proc.exe --id %d`, i%300, v*i), "score": fmt.Sprint((i * 7) % 60)}
		}
		rows[v] = map[string]string{"parent_name": "winword.exe", "name": fmt.Sprintf("rare%d.exe", v), "cmdline": "rare", "score": "90"}
		batch[v] = rows
	}
	var listing time.Duration
	var ms runtime.MemStats
	for i := 0; i < b.N; i++ {
		s := New()
		for h := 0; h < hosts; h++ {
			s.Add(q, fmt.Sprintf("host%05d", h), t0, batch[h%len(batch)])
		}
		start := time.Now()
		top := s.Top(DefaultThresholds, 100)
		listing += time.Since(start)
		if len(top) == 0 {
			b.Fatal("no anomalies")
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(hosts*rowsPerHost*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(listing.Milliseconds())/float64(b.N), "top100-ms")
}

func TestExamplesShowRowsThenHosts(t *testing.T) {
	q := Query{Name: "p", Stack: []string{"name"}}
	s := New()
	row := func(pid string) map[string]string { return map[string]string{"name": "x.exe", "pid": pid} }
	s.Add(q, "h1", t0, []map[string]string{row("1"), row("2"), row("3")})
	sk := s.Stacks("p")[0]
	if len(sk.Examples) != 3 {
		t.Fatalf("one host, 3 rows: %d examples, want 3", len(sk.Examples))
	}
	for _, h := range []string{"h2", "h3", "h4", "h5", "h6"} {
		s.Add(q, h, t0, []map[string]string{row("9")})
	}
	hosts := map[string]bool{}
	for _, e := range sk.Examples {
		hosts[e.Host] = true
	}
	if len(sk.Examples) != MaxExamples || len(hosts) != MaxExamples {
		t.Errorf("6 hosts: %d examples from %d hosts, want %d from %d", len(sk.Examples), len(hosts), MaxExamples, MaxExamples)
	}
}
