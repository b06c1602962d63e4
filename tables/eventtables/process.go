package eventtables

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/evidenceref"
	"github.com/exechunt/exechunt/tables/lineage/schema"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// ProcessCreationTable is process_creation_events: one row per process creation
// (Sysmon 1, Security 4688, Sysmon for Linux 1, Linux audit execve) with the parent's fields, the ancestry
// resolved through earlier events, and the decoded, tagged and scored command line.
func (s *Store) ProcessCreationTable() tablekit.Table {
	return tablekit.Table{
		Name:        "process_creation_events",
		Description: "Process creations from Sysmon (Windows, Linux), Security 4688 and Linux audit (execve) with ancestry, decoded command line, indicators and score.",
		Columns: []table.ColumnDefinition{
			table.BigIntColumn("time", table.IndexColumn(), table.ColumnDescription("event time, Unix seconds")),
			table.TextColumn("datetime", table.IndexColumn(), table.ColumnDescription("event time, RFC 3339 UTC")),
			table.TextColumn("computer"),
			table.TextColumn("source", table.ColumnDescription("sysmon, security, sysmon_linux or audit (Linux audit execve)")),
			table.TextColumn("channel"),
			table.BigIntColumn("event_record_id"),
			table.TextColumn("process_guid", table.IndexColumn()),
			table.BigIntColumn("pid", table.IndexColumn()),
			table.TextColumn("image"),
			table.TextColumn("name", table.IndexColumn(), table.ColumnDescription("file name of image, lower-case")),
			table.TextColumn("original_file_name"),
			table.TextColumn("cmdline"),
			table.TextColumn("current_directory"),
			table.TextColumn("user"),
			table.TextColumn("logon_id"),
			table.TextColumn("integrity_level"),
			table.TextColumn("md5"),
			table.TextColumn("sha256"),
			table.TextColumn("imphash"),
			table.TextColumn("parent_process_guid"),
			table.BigIntColumn("parent_pid"),
			table.TextColumn("parent_image"),
			table.TextColumn("parent_name"),
			table.TextColumn("parent_cmdline"),
			table.TextColumn("ancestry", table.ColumnDescription("names root first, joined by ' > ', as in process_lineage; starts with '?' when the chain is cut")),
			table.IntegerColumn("depth", table.ColumnDescription("number of known ancestors")),
			table.TextColumn("encoded_command"),
			table.TextColumn("decoded_command"),
			table.TextColumn("indicators", table.ColumnDescription("comma-separated tags, see docs/indicators.md")),
			table.IntegerColumn("score", table.ColumnDescription("0-100")),
			table.TextColumn("evidence", table.ColumnDescription("JSON: file, format, locator, channel, event_record_id")),
			table.TextColumn("description", table.ColumnDescription("PE Description of the image (Sysmon)")),
			table.TextColumn("product", table.ColumnDescription("PE Product name (Sysmon)")),
			table.TextColumn("company", table.ColumnDescription("PE Company name (Sysmon)")),
			table.TextColumn("file_version", table.ColumnDescription("PE FileVersion (Sysmon)")),
			table.TextColumn("sha1"),
			table.TextColumn("parent_user", table.ColumnDescription("user of the parent (Sysmon ParentUser; 4688: the creator subject)")),
			table.TextColumn("logon_guid"),
			table.TextColumn("terminal_session_id"),
			table.TextColumn("token_elevation_type", table.ColumnDescription("4688: full, elevated or limited")),
			table.TextColumn("login_user", table.ColumnDescription("Linux audit: the user who logged in to the session (auid), whatever the process runs as")),
			table.TextColumn("tty", table.ColumnDescription("Linux audit: the process's terminal (pts0), empty without one")),
			table.IntegerColumn("failed", table.ColumnDescription("1 when the execution was attempted and failed (Linux audit success=no), else 0")),
		},
		Generate: s.generateProcesses,
	}
}

// processFilter holds the pushed-down constraints of a process_creation_events query.
type processFilter struct {
	since, until time.Time
	guids, names map[string]bool
	pids         map[int64]bool
}

func newProcessFilter(qc table.QueryContext) processFilter {
	f := processFilter{}
	f.since, f.until = tablekit.TimeWindow(qc, "time")
	f.since, f.until = tablekit.DatetimeWindow(qc, "datetime", f.since, f.until)
	if v, ok := tablekit.Equals(qc, "process_guid"); ok {
		f.guids = map[string]bool{}
		for _, g := range v {
			f.guids[event.GUID(g)] = true
		}
	}
	if v, ok := tablekit.Equals(qc, "name"); ok {
		f.names = map[string]bool{}
		for _, n := range v {
			f.names[strings.ToLower(n)] = true
		}
	}
	if v, ok := tablekit.IntEquals(qc, "pid"); ok {
		f.pids = map[int64]bool{}
		for _, p := range v {
			f.pids[p] = true
		}
	}
	return f
}

func (f processFilter) match(e *event.Event) bool {
	p := e.ProcessCreation
	switch {
	case !f.since.IsZero() && e.Time.Before(f.since), !f.until.IsZero() && e.Time.After(f.until):
		return false
	case f.guids != nil && !f.guids[p.ProcessGUID]:
		return false
	case f.names != nil && !f.names[schema.ProcessName(p.Image, "")]:
		return false
	case f.pids != nil && !f.pids[p.PID]:
		return false
	}
	return true
}

func (s *Store) generateProcesses(ctx context.Context, qc table.QueryContext) ([]map[string]string, error) {
	return s.processRows(ctx, newProcessFilter(qc), s.processRow)
}

// processRows builds one row per process creation that passes f, in time order,
// each resolved in one rowContext.
func (s *Store) processRows(ctx context.Context, f processFilter, row func(*rowContext, *event.Event) map[string]string) ([]map[string]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	matched, err := s.matchProcesses(ctx, f)
	if err != nil {
		return nil, err
	}
	rows := make([]map[string]string, 0, len(matched))
	rc := s.scorer.newRowContext(ctx)
	for i, e := range matched {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rows = append(rows, row(rc, e))
	}
	return rows, nil
}

// matchProcesses returns the process creations that pass f, in time order: from the
// buffer when it covers f's window, else re-read from the sources (each event
// once). Callers caught up and hold the lock.
func (s *Store) matchProcesses(ctx context.Context, f processFilter) ([]*event.Event, error) {
	var matched []*event.Event
	if s.procs.covers(f.since) {
		for _, e := range s.procs.live() {
			if f.match(e) {
				matched = append(matched, e)
			}
		}
	} else {
		seen := map[identity]bool{}
		err := s.reread(ctx, f.since, f.until, event.KindProcessCreation, func(e *event.Event) {
			if id := (identity{e.Computer, e.Channel, e.EventRecordID}); e.EventRecordID != 0 {
				if seen[id] {
					return // the same event in two exports
				}
				seen[id] = true
			}
			if f.match(e) {
				cp := *e
				matched = append(matched, &cp)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].Time.Before(matched[j].Time) })
	return matched, nil
}

func (s *Store) processRow(rc *rowContext, e *event.Event) map[string]string {
	p := e.ProcessCreation
	n := rc.resolve(e)
	res := s.scorer.tree.Result(n)
	parentName, parentImage, parentCmdline := n.Parent()
	return map[string]string{
		"time":                 strconv.FormatInt(e.Time.Unix(), 10),
		"datetime":             e.Time.UTC().Format(time.RFC3339Nano),
		"computer":             e.Computer,
		"source":               sourceName(e),
		"channel":              e.Channel,
		"event_record_id":      strconv.FormatUint(e.EventRecordID, 10),
		"process_guid":         p.ProcessGUID,
		"pid":                  strconv.FormatInt(p.PID, 10),
		"image":                p.Image,
		"name":                 n.Name(),
		"original_file_name":   p.OriginalFileName,
		"cmdline":              p.Cmdline,
		"current_directory":    p.CurrentDirectory,
		"user":                 p.User,
		"logon_id":             p.LogonID,
		"integrity_level":      p.IntegrityLevel,
		"md5":                  p.MD5,
		"sha256":               p.SHA256,
		"imphash":              p.IMPHASH,
		"parent_process_guid":  p.ParentProcessGUID,
		"parent_pid":           strconv.FormatInt(p.ParentPID, 10),
		"parent_image":         parentImage,
		"parent_name":          parentName,
		"parent_cmdline":       parentCmdline,
		"ancestry":             n.Ancestry(),
		"depth":                strconv.Itoa(n.Depth()),
		"encoded_command":      res.EncodedCommand,
		"decoded_command":      res.DecodedCommand,
		"indicators":           strings.Join(res.Indicators, ","),
		"score":                strconv.Itoa(res.Score),
		"evidence":             evidenceref.Encode(evidenceref.Part{File: e.SourceFile, Format: e.Format, Locator: e.Locator, Channel: e.Channel, EventRecordID: e.EventRecordID}),
		"description":          p.Description,
		"product":              p.Product,
		"company":              p.Company,
		"file_version":         p.FileVersion,
		"sha1":                 p.SHA1,
		"parent_user":          p.ParentUser,
		"logon_guid":           p.LogonGUID,
		"terminal_session_id":  p.TerminalSessionID,
		"token_elevation_type": p.TokenElevation,
		"login_user":           p.LoginUser,
		"tty":                  p.TTY,
		"failed":               boolInt(p.Failed),
	}
}

// sourceName names the telemetry source of a process creation.
func sourceName(e *event.Event) string {
	switch {
	case e.EventID == 4688:
		return "security"
	case e.Provider == "Linux-Sysmon" || strings.HasPrefix(e.Channel, "Linux-Sysmon"):
		return "sysmon_linux"
	case e.Provider == event.ProviderLinuxAudit:
		return "audit"
	}
	return "sysmon"
}

func boolInt(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
