// Package extension composes exechunt's osquery extension: the tables it serves
// (Tables) and their published schema (Specs). The osquery-go wiring is in
// extension/host, the settings in extension/config, and the osqueryd-side test
// harness in extension/osquerytest.
package extension

import (
	"log/slog"
	"slices"

	"github.com/exechunt/exechunt/extension/config"
	"github.com/exechunt/exechunt/tables/analysis"
	"github.com/exechunt/exechunt/tables/cmdlinetable"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/lineage"
	"github.com/exechunt/exechunt/tables/sigmatable"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// Tables builds every table the extension serves, in the order they are published
// in the spec. Constructors must not touch the system (--spec builds the tables
// too); a table opens its sources when it generates. The last is sigma_matches,
// whose rules LoadSigma loads into sigma; it is served only when sigma_rules is set
// (Served).
func Tables(cfg config.Config, log *slog.Logger) (tables []tablekit.Table, sigma *sigmatable.Matches, err error) {
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
	procs, scripts := events.ProcessCreationTable(), events.ScriptBlockTable()
	// sigma_matches reads the event tables' rows through them: the same Store.
	sigma = sigmatable.New(procs, scripts)
	return []tablekit.Table{
		lineage.New(lineage.Options{History: events, Scorer: events.LineageScorer()}),
		procs,
		scripts,
		cmdlinetable.New(a),
		sigma.Table(),
	}, sigma, nil
}

// Served returns the tables to register with osqueryd: sigma_matches only when
// sigma_rules is set, so that a host without rules does not report the table (the
// sigma-detections hunt's discovery query skips it) rather than answering nothing.
func Served(cfg config.Config, tables []tablekit.Table) []tablekit.Table {
	if cfg.SigmaRules != "" {
		return tables
	}
	return slices.DeleteFunc(slices.Clone(tables), func(t tablekit.Table) bool { return t.Name == sigmatable.Name })
}

// LoadSigma compiles the Sigma rules of sigma_rules and makes them sigma's rules
// (nothing to do when it is not set). Each rule file that is refused is logged with
// its file, rule id and reason, and the rules loaded are counted; a rule set with
// bad rules is loaded without them. The error (the path cannot be read, or no rule
// compiled) leaves the rules in use as they were.
func LoadSigma(cfg config.Config, sigma *sigmatable.Matches, log *slog.Logger) error {
	if cfg.SigmaRules == "" {
		return nil
	}
	rep, err := sigma.Load(cfg.SigmaRules)
	for _, p := range rep.Problems {
		log.Warn("sigma rule refused", "file", p.File, "rule_id", p.RuleID, "reason", p.Reason)
	}
	if err != nil {
		return err
	}
	log.Info("sigma rules loaded", "sigma_rules", cfg.SigmaRules, "rules", rep.Rules, "refused", len(rep.Problems),
		"other_logsources", rep.OutOfScope)
	return nil
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
