package sigma

import "strings"

// Table names the converter targets.
const (
	ProcessCreationTable = "process_creation_events"
	ScriptBlockTable     = "powershell_script_blocks"
)

// column is a table column a Sigma field maps to.
type column struct {
	name    string
	integer bool
}

// processCreationFields maps Sigma's process_creation fields (Sysmon 1, Security 4688
// names, Sysmon for Linux) to process_creation_events. Keys are lower case: Sigma
// field names are matched case-insensitively.
var processCreationFields = map[string]column{
	"image":              {name: "image"},
	"newprocessname":     {name: "image"}, // 4688
	"commandline":        {name: "cmdline"},
	"processcommandline": {name: "cmdline"},
	"parentimage":        {name: "parent_image"},
	"parentprocessname":  {name: "parent_image"}, // 4688
	"parentcommandline":  {name: "parent_cmdline"},
	"originalfilename":   {name: "original_file_name"},
	"user":               {name: "user"},
	"integritylevel":     {name: "integrity_level"},
	"currentdirectory":   {name: "current_directory"},
	"logonid":            {name: "logon_id"},
	"subjectlogonid":     {name: "logon_id"}, // 4688
	"processid":          {name: "pid", integer: true},
	"newprocessid":       {name: "pid", integer: true}, // 4688
	"parentprocessid":    {name: "parent_pid", integer: true},
	"processguid":        {name: "process_guid"},
	"parentprocessguid":  {name: "parent_process_guid"},
	"md5":                {name: "md5"},
	"sha256":             {name: "sha256"},
	"imphash":            {name: "imphash"},
	"computer":           {name: "computer"},
	"computername":       {name: "computer"},
	"hostname":           {name: "computer"},
	"description":        {name: "description"},
	"product":            {name: "product"},
	"company":            {name: "company"},
	"fileversion":        {name: "file_version"},
	"sha1":               {name: "sha1"},
	"parentuser":         {name: "parent_user"},
	"logonguid":          {name: "logon_guid"},
	"terminalsessionid":  {name: "terminal_session_id", integer: true},
	"tokenelevationtype": {name: "token_elevation_type"},
}

// scriptBlockFields maps Sigma's ps_script fields (4104) to powershell_script_blocks.
var scriptBlockFields = map[string]column{
	"scriptblocktext": {name: "script_text"},
	"path":            {name: "script_path"},
	"scriptblockid":   {name: "script_block_id"},
	"computer":        {name: "computer"},
	"computername":    {name: "computer"},
	"hostname":        {name: "computer"},
}

// knownMissing explains fields Sigma rules use that the tables do not keep.
var knownMissing = map[string]string{
	"subjectusername": "4688's subject user name (user holds DOMAIN\\user of the new process)",
	"targetusername":  "4688's target user name",
	"mandatorylabel":  "4688's mandatory label SID (integrity_level holds Sysmon's names)",
	"messagenumber":   "the part number (script blocks are reassembled)",
	"messagetotal":    "the part count (script blocks are reassembled)",
	"eventid":         "event ids (the table holds only this event type)",
}

// target is one logsource's table and field map.
type target struct {
	table    string
	fields   map[string]column
	platform string
	columns  string   // the SELECT list
	stack    []string // stacking keys of the pack query
}

// tableTargets are the targets by table (for BatchSQL).
var tableTargets = map[string]*target{}

func init() {
	for _, ls := range []Logsource{{Category: "process_creation", Product: "windows"}, {Category: "ps_script", Product: "windows"}} {
		t, _ := targetFor(ls)
		tableTargets[t.table] = t
	}
}

func targetFor(ls Logsource) (*target, error) {
	cat, prod := strings.ToLower(ls.Category), strings.ToLower(ls.Product)
	switch {
	case ls.Service != "":
		return nil, unsupported("logsource service %q (only the categories process_creation and ps_script are converted)", ls.Service)
	case cat == "process_creation" && (prod == "windows" || prod == "linux"):
		return &target{
			table: ProcessCreationTable, fields: processCreationFields, platform: prod,
			columns: "time, datetime, computer, source, user, parent_name, name, image, cmdline, parent_image, parent_cmdline, original_file_name, ancestry, indicators, score, evidence",
			stack:   []string{"parent_name", "name"},
		}, nil
	case cat == "ps_script" && prod == "windows":
		return &target{
			table: ScriptBlockTable, fields: scriptBlockFields, platform: "windows",
			columns: "time, datetime, computer, script_block_id, script_path, user_sid, pid, script_sha256, substr(script_text, 1, 200) AS script_excerpt, indicators, score, evidence",
			stack:   []string{"script_sha256"},
		}, nil
	}
	return nil, unsupported("logsource category %q product %q (only process_creation on windows/linux and ps_script on windows)", ls.Category, ls.Product)
}
