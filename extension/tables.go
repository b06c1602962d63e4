// Package extension composes exechunt's osquery extension: the tables it serves
// (Tables) and their published schema (Specs). The osquery-go wiring is in
// extension/host, the settings in extension/config, and the osqueryd-side test
// harness in extension/osquerytest.
package extension

import (
	"log/slog"
	"strings"
	"time"

	"github.com/exechunt/exechunt/extension/config"
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/cmdlinetable"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/lineage"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Tables builds every table the extension serves, in the order they are published
// in the spec. Constructors must not touch the system (--spec builds the tables
// too); a table opens its sources when it generates.
func Tables(cfg config.Config, log *slog.Logger) ([]tablekit.Table, error) {
	a := Analyzer(cfg)
	var paths []string // nil: the platform's live sources
	for _, src := range cfg.Sources {
		paths = append(paths, src.Path)
	}
	// The event tables share one Store: one tail of the sources, one lineage index and
	// one cache budget (54% of it in caches). The lineage table keeps its own small
	// analysis cache, 4% of the budget.
	budget := int64(cfg.CacheMB) << 20
	events := eventtables.New(eventtables.Options{
		Paths: paths, CacheBytes: budget, Analyzer: a, Logger: log, StateDir: cfg.StateDir,
	})
	return []tablekit.Table{
		lineage.New(lineage.Options{History: history{events}, Analyzer: a, CacheBytes: int(budget * 4 / 100)}),
		events.ProcessCreationTable(),
		events.ScriptBlockTable(),
		cmdlinetable.New(a),
	}, nil
}

// history lets process_lineage fill in what the process table lacks (command lines
// of protected processes, Sysmon GUIDs, ancestors that already exited) from the
// process creations the event tables have read.
type history struct{ s *eventtables.Store }

func (h history) Lookup(pid int64, start time.Time) (lineage.Proc, bool) {
	p, ok := h.s.Lookup(pid, start)
	if !ok {
		return lineage.Proc{}, false
	}
	name := p.Image
	if i := strings.LastIndexAny(name, `\/`); i >= 0 {
		name = name[i+1:]
	}
	return lineage.Proc{PID: p.PID, PPID: p.PPID, Name: name, Path: p.Image, Cmdline: p.Cmdline, User: p.User,
		Start: p.Start, GUID: p.GUID}, true
}

// Analyzer returns the analysis settings shared by the tables: the configured
// cosine_similarity reference vector, or the built-in one.
func Analyzer(cfg config.Config) *analysis.Analyzer {
	var opts []analysis.Option
	if len(cfg.CharacterFrequencies) > 0 {
		opts = append(opts, analysis.WithVector(cfg.CharacterFrequencies))
	}
	return analysis.New(opts...)
}
