// Package sigmabaseline turns rows of the event tables into the events sigma-go
// evaluates (field name → value), for the benchmarks that compare exechunt's Sigma
// evaluation with sigma-go's (the baseline of issue 22).
package sigmabaseline

import "fmt"

// fields are the Sigma names the baseline's events carry, by table, from the table
// columns.
var fields = map[string]map[string]string{
	"process_creation_events": {
		"Image": "image", "CommandLine": "cmdline", "ParentImage": "parent_image", "ParentCommandLine": "parent_cmdline",
		"OriginalFileName": "original_file_name", "User": "user", "IntegrityLevel": "integrity_level",
		"CurrentDirectory": "current_directory", "LogonId": "logon_id", "ProcessId": "pid", "ParentProcessId": "parent_pid",
		"ProcessGuid": "process_guid", "ParentProcessGuid": "parent_process_guid", "Computer": "computer",
		"md5": "md5", "sha256": "sha256", "Imphash": "imphash",
	},
	"powershell_script_blocks": {"ScriptBlockText": "script_text", "Path": "script_path", "ScriptBlockId": "script_block_id", "Computer": "computer"},
}

// Event is the sigma-go event of one row of table (column → value; NULL and empty
// values are left out), with Sysmon's Hashes field rebuilt for process creations.
func Event(table string, row map[string]any) map[string]any {
	ev := map[string]any{}
	for f, c := range fields[table] {
		if v := row[c]; v != nil && v != "" {
			ev[f] = v
		}
	}
	if table == "process_creation_events" {
		ev["Hashes"] = fmt.Sprintf("MD5=%v,SHA256=%v,IMPHASH=%v", row["md5"], row["sha256"], row["imphash"])
	}
	return ev
}
