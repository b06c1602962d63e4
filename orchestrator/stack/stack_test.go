package stack

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
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
	if len(top) != 3 {
		for _, a := range top {
			t.Logf("%s %.2f %v", a.Key, a.Rank, a.Reasons)
		}
		t.Fatalf("anomalies = %d, want the 2 attack stacks and the rare admin tool", len(top))
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
	// The rare admin tool was seen during the learning window: still an anomaly
	// (rare), not new, so below the attacks.
	if ps := top[2]; ps.Values["name"] != "psexec.exe" || !ps.Rare || ps.New || ps.Reasons[0] != "rare: 1 of 200 hosts (0.5%)" {
		t.Errorf("third = %+v", ps)
	}
	// Suppressing the web-server stack puts it in the baseline: still high-scoring, so
	// still listed, but no longer new, and ranked lower.
	web := top[1]
	s.MarkNormal(EntityKey(hunt, web.Key))
	for _, a := range s.Anomalies(DefaultThresholds) {
		if a.Key == web.Key && a.New {
			t.Errorf("suppressed stack is still new")
		}
	}
}

// TestAnomalyRule: which stacks are anomalies, and which are new, for every
// combination of rarity, score, learning window and suppression.
func TestAnomalyRule(t *testing.T) {
	for _, c := range []struct {
		name                 string
		hosts, score         int
		learnt, suppressed   bool
		wantAnomaly, wantNew bool
	}{
		{name: "rare and new", hosts: 2, wantAnomaly: true, wantNew: true},
		{name: "rare, seen in the learning window", hosts: 2, learnt: true, wantAnomaly: true},
		{name: "rare, suppressed by an analyst", hosts: 2, suppressed: true},
		{name: "rare, learnt and suppressed", hosts: 2, learnt: true, suppressed: true},
		{name: "common and new (a rollout)", hosts: 80, wantNew: true},
		{name: "common, learnt", hosts: 80, learnt: true},
		{name: "common, learnt, high score", hosts: 80, score: 70, learnt: true, wantAnomaly: true},
		{name: "rare, suppressed, high score", hosts: 2, score: 70, suppressed: true, wantAnomaly: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New()
			for h := 0; h < 100; h++ {
				rows := []map[string]string{row("services.exe", "svchost.exe", "0", "")}
				if h < c.hosts {
					rows = append(rows, row("winword.exe", "powershell.exe", fmt.Sprint(c.score), ""))
				}
				s.Add(hunt, fmt.Sprintf("ws%03d", h), t0, rows)
			}
			if c.learnt {
				s.LearnBaseline(t0.Add(24 * time.Hour)) // the window still runs
			}
			key := "winword.exe\x1fpowershell.exe"
			if c.suppressed {
				s.MarkNormal(EntityKey(hunt, key))
			}
			var sk *Stack
			for _, x := range s.Stacks(hunt.Name) {
				if x.Key == key {
					sk = x
				}
			}
			a, isAnomaly := s.Assess(sk, DefaultThresholds)
			if isAnomaly != c.wantAnomaly || a.New != c.wantNew {
				t.Errorf("anomaly %t new %t, want %t %t (reasons %q)", isAnomaly, a.New, c.wantAnomaly, c.wantNew, a.Reasons)
			}
			listed := false
			for _, x := range s.Anomalies(DefaultThresholds) {
				if x.ID == a.ID {
					listed = true
					if x.Rank != a.Rank {
						t.Errorf("rank %v in the list, %v in the stack", x.Rank, a.Rank)
					}
				}
			}
			if listed != c.wantAnomaly {
				t.Errorf("listed %t, want %t", listed, c.wantAnomaly)
			}
		})
	}
}

// TestRareRanksFirstOnDayOne: on the first day, inside the learning window, a
// parent→child pair seen on 3 of 60 hosts with a modest score ranks above a
// common stack that scores high.
func TestRareRanksFirstOnDayOne(t *testing.T) {
	s := New()
	for h := 0; h < 60; h++ {
		rows := []map[string]string{row("services.exe", "svchost.exe", "0", "")}
		if h < 40 {
			rows = append(rows, row("ccmexec.exe", "powershell.exe", "60", "execution_policy_bypass"))
		}
		if h%20 == 5 {
			rows = append(rows, row("winword.exe", "powershell.exe", "30", "office_child_shell"))
		}
		s.Add(hunt, fmt.Sprintf("ws%03d", h), t0, rows)
	}
	s.LearnBaseline(t0.Add(24 * time.Hour))
	top := s.Anomalies(DefaultThresholds)
	if len(top) != 2 {
		t.Fatalf("anomalies = %+v, want the rare pair and the high-scoring one", top)
	}
	if a := top[0]; a.Values["parent_name"] != "winword.exe" || a.HostCount != 3 || !a.Rare || a.New || a.Reasons[0] != "rare: 3 of 60 hosts (5.0%)" {
		t.Errorf("first = %+v", a)
	}
}

// TestOneStackAcrossQueries: three hunt queries that stack by the same columns
// (in any order) and return bash ← java make one stack with all three queries,
// the hosts of all, one id and one rank wherever it is shown.
func TestOneStackAcrossQueries(t *testing.T) {
	s := New()
	qs := []Query{
		{Name: "live-lineage/live_high_score_processes", Technique: "T1059", Severity: "medium", Stack: []string{"parent_name", "name"}},
		{Name: "live-lineage/live_reverse_or_interactive_shell", Technique: "T1059.004", Severity: "high", Stack: []string{"parent_name", "name"}},
		{Name: "default-push/rare_parent_child_live", Technique: "T1059", Severity: "info", Stack: []string{"name", "parent_name"}},
	}
	for h := 0; h < 100; h++ {
		for i, q := range qs {
			var rows []map[string]string
			if h == i || h == 50 { // each query sees java → bash on its own host and on ws050
				rows = append(rows, row("java", "bash", "70", "webserver_child_shell"))
			}
			s.Add(q, fmt.Sprintf("ws%03d", h), t0, rows)
		}
	}
	top := s.Anomalies(DefaultThresholds)
	if len(top) != 1 {
		t.Fatalf("%d anomalies, want one for java → bash: %+v", len(top), top)
	}
	a := top[0]
	want := []string{"default-push/rare_parent_child_live", "live-lineage/live_high_score_processes", "live-lineage/live_reverse_or_interactive_shell"}
	if fmt.Sprint(a.Queries) != fmt.Sprint(want) || a.HostCount != 4 || a.Rows != 6 || a.Answered != 100 {
		t.Errorf("queries %v hosts %d rows %d answered %d", a.Queries, a.HostCount, a.Rows, a.Answered)
	}
	if a.Severity != "high" || a.Technique != "T1059.004" {
		t.Errorf("technique %s severity %s, want the most severe query's", a.Technique, a.Severity)
	}
	for _, q := range qs {
		st := s.Stacks(q.Name)
		if len(st) != 1 {
			t.Fatalf("%s: %d stacks", q.Name, len(st))
		}
		got, _ := s.Assess(st[0], DefaultThresholds)
		if got.ID != a.ID || got.Rank != a.Rank {
			t.Errorf("%s: id %s rank %v, the anomaly has %s %v", q.Name, got.ID, got.Rank, a.ID, a.Rank)
		}
	}
	if s.ByID(a.ID) == nil {
		t.Errorf("no stack by id %s", a.ID)
	}
	// ws050's row, returned by all three queries, is one example.
	n := 0
	for _, e := range a.Examples {
		if e.Host == "ws050" {
			n++
		}
	}
	if n != 1 || len(a.Examples) != 4 {
		t.Errorf("%d examples of ws050 among %d, want 1 among 4", n, len(a.Examples))
	}
}

func TestShortID(t *testing.T) {
	id := ShortID(EntityKey(hunt, "java\x1fbash"))
	if len(id) != 10 || strings.Trim(id, "0123456789abcdefghjkmnpqrstvwxyz") != "" {
		t.Errorf("id %q: want 10 lower-case base32 characters", id)
	}
	swapped := Query{Name: "other", Stack: []string{"name", "parent_name"}}
	if ShortID(EntityKey(swapped, "bash\x1fjava")) != id {
		t.Error("the same columns and values in another order must have the same id")
	}
	if ShortID(EntityKey(hunt, "java\x1fsh")) == id {
		t.Error("different stacks share an id")
	}
}

func TestNewButCommonIsNotAnomaly(t *testing.T) {
	s := New()
	fleet(s, t0)
	s.LearnBaseline(t0)
	for h := 0; h < 200; h++ { // a software rollout reaches every host
		s.Add(hunt, fmt.Sprintf("ws%03d", h), t0.Add(48*time.Hour), []map[string]string{row("msiexec.exe", "newagent.exe", "0", "")})
	}
	for _, a := range s.Anomalies(DefaultThresholds) {
		if a.Values["name"] == "newagent.exe" {
			t.Errorf("rollout reported: %+v", a)
		}
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
