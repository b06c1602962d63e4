package anomalies

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/stack"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
	"github.com/exechunt/exechunt/packs"
)

// BenchmarkTop100OnStore lists the top 100 anomalies of 2,000 hosts × 1,000
// process rows (EXECHUNT_BENCH_STACK_HOSTS=10000 for 10 million rows) the way the
// API does, with every read syncing against the embedded SQLite store (hosts,
// new runs and result logs, 500 triage states, suppression rules). Target: 200 ms.
func BenchmarkTop100OnStore(b *testing.B) {
	hosts, rowsPerHost := 2000, 1000
	if n, err := strconv.Atoi(os.Getenv("EXECHUNT_BENCH_STACK_HOSTS")); err == nil && n > 0 {
		hosts = n
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	names := make([]string, hosts)
	for h := range names {
		names[h] = fmt.Sprintf("host%05d", h)
		sum := sha256.Sum256([]byte(names[h]))
		if _, err := st.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: names[h], Hostname: names[h], Platform: "windows"},
			NodeKeyHash: sum[:]}, now); err != nil {
			b.Fatal(err)
		}
	}
	const query = "rarity/parent_child"
	svc := New(st, Options{Packs: []packs.Pack{{Name: "rarity", Queries: []packs.Query{{Name: "parent_child", Technique: "T1059",
		Severity: "info", Stack: []string{"parent_name", "name", stack.ShapeColumn}}}}}, SyncEvery: time.Nanosecond})
	q := svc.stackQuery(query)
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
	for h, name := range names {
		svc.st.Add(q, name, now, batch[h%len(batch)])
	}
	for i, sk := range svc.st.Stacks(query) { // triage states for real stacks
		if i == 500 {
			break
		}
		if err := st.SetTriage(ctx, store.Triage{Query: query, Key: string(sk.Key), State: apiv1.TriageAcknowledged, By: "bench", At: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		top, err := svc.Anomalies(ctx, Filter{Limit: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(top) == 0 {
			b.Fatal("no anomalies")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "top100-ms")
}
