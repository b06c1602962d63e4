// Package schema is the contract of the process_lineage table, shared by the live
// table (tables/lineage, running processes) and the offline one (tables/eventtables,
// process creations in evidence): its name, its columns with their one meaning, the
// words of lineage_status and how a process is named. It is a leaf: packs, the
// builders on both sides and tests read the contract here.
package schema

import (
	"strings"

	"github.com/osquery/osquery-go/plugin/table"
)

// TableName is the public name of the table.
const TableName = "process_lineage"

// Column names.
const (
	PID           = "pid"
	Parent        = "parent"
	Name          = "name"
	Path          = "path"
	Cmdline       = "cmdline"
	Username      = "username"
	StartTime     = "start_time"
	ParentName    = "parent_name"
	ParentPath    = "parent_path"
	ParentCmdline = "parent_cmdline"
	Ancestry      = "ancestry"
	AncestorPIDs  = "ancestor_pids"
	Depth         = "depth"
	Status        = "lineage_status"
	GUID          = "process_guid"
	ParentGUID    = "parent_process_guid"
	Indicators    = "indicators"
	Score         = "score"
)

// Columns returns the schema of process_lineage. The descriptions are the meaning
// both builders honour (docs/offline.md and README list them too).
func Columns() []table.ColumnDefinition {
	d := table.ColumnDescription
	return []table.ColumnDefinition{
		table.BigIntColumn(PID, table.IndexColumn(), d("Process id")),
		table.BigIntColumn(Parent, d("Parent process id as the process's record gives it (may name an exited or reused pid)")),
		table.TextColumn(Name, d("Lower-case file name of the executable (of path; of the OS's short name when the path is unknown)")),
		table.TextColumn(Path, d("Executable path as the OS or the event reports it")),
		table.TextColumn(Cmdline, d("Command line; arguments with spaces are quoted; kernel threads show [name]")),
		table.TextColumn(Username, d("User the process runs as")),
		table.BigIntColumn(StartTime, d("Process start (creation event time offline), Unix seconds")),
		table.TextColumn(ParentName, d("Lower-case file name of the real parent (empty when unknown)")),
		table.TextColumn(ParentPath, d("Executable path of the real parent")),
		table.TextColumn(ParentCmdline, d("Command line of the real parent")),
		table.TextColumn(Ancestry, d("Names from the root to this process joined by ' > '; starts with '?' when the chain is cut")),
		table.TextColumn(AncestorPIDs, d("Known ancestor pids, root first, comma-separated (this process excluded)")),
		table.BigIntColumn(Depth, d("Number of known ancestors")),
		table.TextColumn(Status, d("complete, or why the chain is cut: parent_unknown, pid_reused, cycle, truncated")),
		table.TextColumn(GUID, d("Stable process id, lower-case without braces: Sysmon's ProcessGuid when known, else derived from host or boot, pid and start")),
		table.TextColumn(ParentGUID, d("process_guid of the real parent")),
		table.TextColumn(Indicators, d("Comma-separated indicator tags of the command-line analysis (with the parent and the ancestors' scores as context)")),
		table.BigIntColumn(Score, d("Command-line analysis score, 0-100")),
	}
}

// State says whether a chain reaches a root, or why it was cut.
type State uint8

// Chain states; String gives the lineage_status word.
const (
	Complete      State = iota // reached a root (pid 0/1, or a parent id of 0 or itself)
	ParentUnknown              // the parent is neither running, remembered nor in the evidence
	PIDReused                  // the process holding the parent id started after the child
	Cycle                      // the parent links loop
	Truncated                  // longer than the maximum depth
)

// String is the lineage_status word of s.
func (s State) String() string {
	switch s {
	case Complete:
		return "complete"
	case ParentUnknown:
		return "parent_unknown"
	case PIDReused:
		return "pid_reused"
	case Cycle:
		return "cycle"
	case Truncated:
		return "truncated"
	}
	return "unknown"
}

// CutMark starts the ancestry of a chain that does not reach a root; Sep joins the
// names of an ancestry.
const (
	CutMark = "?"
	Sep     = " > "
)

// ProcessName is the name column of a process: the lower-case last element of path
// (Windows or POSIX separators, Linux's " (deleted)" suffix dropped), or of short
// (comm, the image name) when the path is unknown. Lower case because Windows names
// are case-insensitive and packs compare names as written (`parent_name =
// 'winword.exe'`); the same on every OS so that a pack means one thing everywhere.
func ProcessName(path, short string) string {
	if path == "" {
		return lower(short) // comm may hold a '/' (kworker/0:1)
	}
	n := strings.TrimSuffix(path, " (deleted)")
	if i := strings.LastIndexAny(n, `\/`); i >= 0 && i < len(n)-1 {
		n = n[i+1:]
	}
	return lower(n)
}

// lower is strings.ToLower without an allocation for names already lower case.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}
