package simulate

import (
	"context"
	"log/slog"
	"sync"

	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/tables/analysis"
)

// Runner answers simulated agents' SQL with the offline engine (package offline
// over evidence files), so live-query and schedule answers are real rows. It runs
// queries one at a time on an engine over one host's evidence.
type Runner struct {
	mu sync.Mutex
	e  *sqlengine.Engine
}

// NewRunner mounts the offline tables over paths (files or folders of evidence).
func NewRunner(paths []string, log *slog.Logger) (*Runner, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := sqlengine.Open(offline.Tables(paths, analysis.New(), log), sqlengine.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return &Runner{e: e}, nil
}

// Close releases the engine.
func (r *Runner) Close() error { return r.e.Close() }

// Run implements agentsim.Runner: values become strings as osquery sends them.
func (r *Runner) Run(ctx context.Context, sql string) ([]map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rows, err := r.e.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := rows.Columns()
	var out []map[string]string
	for rows.Next() {
		m := make(map[string]string, len(cols))
		for i, v := range rows.Values() {
			m[cols[i]] = finding.Text(v)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
