package offline

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/tablekit"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// corpusEngine is one engine over the whole corpus, shared by the tests (reading the
// corpus is the slow part).
var corpusEngine = sync.OnceValues(func() (*fixture, error) {
	dir, ok := corpus.Dir()
	if !ok {
		return nil, nil
	}
	tables := Tables([]string{dir}, analysis.New(), quiet())
	e, err := sqlengine.Open(tables, sqlengine.Options{Logger: quiet()})
	if err != nil {
		return nil, err
	}
	return &fixture{e: e, tables: tables}, nil
})

type fixture struct {
	mu     sync.Mutex
	e      *sqlengine.Engine
	tables []tablekit.Table
}

func engine(t *testing.T) *fixture {
	t.Helper()
	f, err := corpusEngine()
	if err != nil {
		t.Fatal(err)
	}
	if f == nil {
		t.Skip(corpus.SkipMessage)
	}
	return f
}

func (f *fixture) query(t *testing.T, q string) [][]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	rows, err := f.e.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		out = append(out, append([]any(nil), rows.Values()...))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func (f *fixture) generate(t *testing.T, name string, qc table.QueryContext) []map[string]string {
	t.Helper()
	for _, tb := range f.tables {
		if tb.Name == name {
			rows, err := tb.Generate(context.Background(), qc)
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
	}
	t.Fatalf("no table %s", name)
	return nil
}

// TestGroupBySource: the counts of MANIFEST.md (633 Sysmon/1 of which 70 appear twice,
// 279 Security/4688, 31 Linux-Sysmon/1, 3 Linux audit execve), through SQL.
func TestGroupBySource(t *testing.T) {
	f := engine(t)
	got := f.query(t, "SELECT source, count(*) AS n FROM process_creation_events GROUP BY source ORDER BY source")
	want := [][]any{{"audit", int64(3)}, {"security", int64(279)}, {"sysmon", int64(563)}, {"sysmon_linux", int64(31)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("by source: %v, want %v", got, want)
	}
}

// TestTimeRange: a time range is pushed down and gives the rows of a direct Generate
// with the same constraints (and of SQLite's own filtering of the full table).
func TestTimeRange(t *testing.T) {
	f := engine(t)
	const lo, hi = "1600000000", "1650000000" // 2020-09-13 .. 2022-04-15
	c := table.QueryContext{Constraints: map[string]table.ConstraintList{"time": {Affinity: table.ColumnTypeBigInt, Constraints: []table.Constraint{
		{Operator: table.OperatorGreaterThanOrEquals, Expression: lo}, {Operator: table.OperatorLessThanOrEquals, Expression: hi},
	}}}}
	direct := len(f.generate(t, "process_creation_events", c))
	viaSQL := f.query(t, "SELECT count(*) FROM process_creation_events WHERE time BETWEEN "+lo+" AND "+hi)[0][0]
	filtered := f.query(t, "SELECT count(*) FROM (SELECT time FROM process_creation_events) WHERE time + 0 BETWEEN "+lo+" AND "+hi)[0][0]
	if direct == 0 || viaSQL != int64(direct) || filtered != int64(direct) {
		t.Errorf("time range: Generate %d rows, SQL %v, unpushed %v", direct, viaSQL, filtered)
	}
	dt := f.query(t, "SELECT count(*) FROM process_creation_events WHERE datetime >= '2020-09-13T12:26:40Z' AND datetime <= '2022-04-15T05:20:00Z'")[0][0]
	if dt != int64(direct) {
		t.Errorf("datetime range: %v rows, want %d", dt, direct)
	}
}

// TestJoinCommandLineAnalysis: the required column is fed per row from the outer
// table, as in osquery.
func TestJoinCommandLineAnalysis(t *testing.T) {
	f := engine(t)
	n := f.query(t, "SELECT count(*) FROM process_creation_events")[0][0].(int64)
	rows := f.query(t, `SELECT p.name, c.program, c.family, c.score, p.score
		FROM process_creation_events p JOIN command_line_analysis c ON c.cmdline = p.cmdline`)
	if int64(len(rows)) != n {
		t.Errorf("join: %d rows, want one per process creation (%d)", len(rows), n)
	}
	ps := 0
	for _, r := range rows {
		if r[2] == "powershell" {
			ps++
		}
	}
	if ps == 0 {
		t.Error("join: no PowerShell command line analysed")
	}
	// The JOIN written with command_line_analysis first plans the same way.
	rev := f.query(t, `SELECT count(*) FROM command_line_analysis c, process_creation_events p WHERE c.cmdline = p.cmdline AND c.score >= 50`)[0][0].(int64)
	if rev == 0 {
		t.Error("reversed join: no high-score command lines")
	}
}

func TestRequired(t *testing.T) {
	f := engine(t)
	if rows := f.query(t, "SELECT * FROM command_line_analysis"); len(rows) != 0 {
		t.Errorf("without cmdline: %d rows", len(rows))
	}
	rows := f.query(t, "SELECT program, family FROM command_line_analysis WHERE cmdline = 'powershell.exe -nop -w hidden -enc SQBFAFgA'")
	if !reflect.DeepEqual(rows, [][]any{{"powershell.exe", "powershell"}}) {
		t.Errorf("with cmdline: %v", rows)
	}
}

func TestScriptBlocks(t *testing.T) {
	f := engine(t)
	rows := f.query(t, "SELECT event_record_ids, complete FROM powershell_script_blocks WHERE script_block_id = '79679dd8-9485-473f-bd2e-c321de81167c'")
	if !reflect.DeepEqual(rows, [][]any{{"41802,41803,41804,41805", int64(1)}}) {
		t.Errorf("Covenant block: %v", rows)
	}
}
