package eventtables

import (
	"context"
	"strconv"
	"strings"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/lineage"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// LineageTable is process_lineage over evidence, for the offline engine: the
// reconstructed tree of the process creations in the sources, one row per process
// incarnation, with the same columns as the live table (lineage.Columns). Its
// lineage_status is "complete" when the chain reaches a process whose parent is not
// known (pid 0), and "parent_not_in_evidence" when the top ancestor's own creation is
// not in the evidence (it started before the logs begin).
func (s *Store) LineageTable() tablekit.Table {
	return tablekit.Table{
		Name:        lineage.TableName,
		Description: "Process tree reconstructed from the process creations in the evidence (offline process_lineage).",
		Columns:     lineage.Columns(),
		Generate:    s.generateLineage,
	}
}

func (s *Store) generateLineage(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	f := processFilter{}
	if v, ok := tablekit.IntEquals(qc, "pid"); ok {
		f.pids = map[int64]bool{}
		for _, p := range v {
			f.pids[p] = true
		}
	}
	if v, ok := tablekit.Equals(qc, "name"); ok {
		f.names = map[string]bool{}
		for _, n := range v {
			f.names[strings.ToLower(n)] = true
		}
	}
	if v, ok := tablekit.Equals(qc, "process_guid"); ok {
		f.guids = map[string]bool{}
		for _, g := range v {
			f.guids[event.GUID(g)] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	matched, err := s.matchProcesses(ctx, f)
	if err != nil {
		return nil, err
	}
	rc := s.newRowContext()
	rows := make([]map[string]string, 0, len(matched))
	for i, e := range matched {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p := e.ProcessCreation
		res := s.analyseEvent(rc, e)
		c := rc.walk.full(e)
		status := "complete"
		if c.cut {
			status = "parent_not_in_evidence"
		}
		parentName, parentPath, parentCmdline := "", p.ParentImage, p.ParentCmdline
		if p.ParentImage != "" {
			parentName = baseName(p.ParentImage)
		}
		rows = append(rows, map[string]string{
			"pid":                 strconv.FormatInt(p.PID, 10),
			"parent":              strconv.FormatInt(p.ParentPID, 10),
			"name":                baseName(p.Image),
			"path":                p.Image,
			"cmdline":             p.Cmdline,
			"username":            p.User,
			"start_time":          strconv.FormatInt(e.Time.Unix(), 10),
			"parent_name":         parentName,
			"parent_path":         parentPath,
			"parent_cmdline":      parentCmdline,
			"ancestry":            c.text,
			"ancestor_pids":       c.pids,
			"depth":               strconv.Itoa(c.depth - 1),
			"lineage_status":      status,
			"process_guid":        p.ProcessGUID,
			"parent_process_guid": p.ParentProcessGUID,
			"indicators":          strings.Join(res.Indicators, ","),
			"score":               strconv.Itoa(res.Score),
		})
	}
	return rows, nil
}
