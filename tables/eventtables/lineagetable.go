package eventtables

import (
	"context"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/lineage/schema"
	"github.com/exechunt/exechunt/tables/lineage/tree"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// LineageTable is process_lineage over evidence, for the offline engine: one row per
// process creation in the sources, resolved and built by package tree like the
// live table's rows, so every column means what it means live (package schema).
// A chain whose top ancestor started before the evidence begins is cut:
// lineage_status parent_unknown, ancestry starting with '?'.
func (s *Store) LineageTable() tablekit.Table {
	return tablekit.Table{
		Name:        schema.TableName,
		Description: "Process tree reconstructed from the process creations in the evidence (offline process_lineage).",
		Columns:     schema.Columns(),
		Generate:    s.generateLineage,
	}
}

// LineageScorer is the analysis (and its cache) the event tables score with; the
// live process_lineage shares it so both tables analyse alike from one cache.
func (s *Store) LineageScorer() *tree.Scorer { return s.scorer.tree }

// generateLineage pushes down pid and name; not process_guid, which may be derived
// (4688 has none).
func (s *Store) generateLineage(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	f := newProcessFilter(qc)
	f.guids = nil
	return s.processRows(ctx, f, func(rc *rowContext, e *event.Event) map[string]string {
		n := rc.resolve(e)
		res := s.scorer.tree.Result(n)
		return tree.Row(n, res.Indicators, res.Score)
	})
}
