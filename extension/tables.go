// Package extension composes exechunt's osquery extension: the tables it serves
// (Tables) and their published schema (Specs). The osquery-go wiring is in
// extension/host, the settings in extension/config, and the osqueryd-side test
// harness in extension/osquerytest.
package extension

import (
	"log/slog"

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
	// one cache budget (58% of it in caches). The live process_lineage asks the Store
	// for exited ancestors (History) and analyses with its Scorer: one analysis cache.
	budget := int64(cfg.CacheMB) << 20
	events := eventtables.New(eventtables.Options{
		Paths: paths, CacheBytes: budget, Analyzer: a, Logger: log, StateDir: cfg.StateDir,
		Audit: cfg.Audit, AuditRules: cfg.AuditRules,
	})
	return []tablekit.Table{
		lineage.New(lineage.Options{History: events, Scorer: events.LineageScorer()}),
		events.ProcessCreationTable(),
		events.ScriptBlockTable(),
		cmdlinetable.New(a),
	}, nil
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
