package sigma

import (
	"fmt"
	"strings"
)

// Table names the converter targets.
const (
	ProcessCreationTable = "process_creation_events"
	ScriptBlockTable     = "powershell_script_blocks"
)

// Column is a table column a Sigma field maps to. Integer columns hold numbers
// (compared as numbers, matched as text through CAST).
type Column struct {
	Name    string
	Integer bool
}

// Output is a column of the rows a rule's query returns (and the engine's
// findings): From's value, cut to its first MaxChars characters when MaxChars > 0.
type Output struct {
	Name, From string
	MaxChars   int
}

// Cut is a text value of the output: its first MaxChars characters (as SQL's
// substr counts them) when MaxChars > 0.
func (o Output) Cut(s string) string {
	if o.MaxChars <= 0 || len(s) <= o.MaxChars {
		return s
	}
	n := 0
	for i := range s {
		if n == o.MaxChars {
			return s[:i]
		}
		n++
	}
	return s
}

// sql is the output's term in a SELECT list.
func (o Output) sql() string {
	if o.MaxChars > 0 {
		return fmt.Sprintf("substr(%s, 1, %d) AS %s", o.From, o.MaxChars, o.Name)
	}
	return o.Name
}

// outputs lists columns taken as they are.
func outputs(names ...string) []Output {
	out := make([]Output, len(names))
	for i, n := range names {
		out[i] = Output{Name: n, From: n}
	}
	return out
}

// Outputs returns the columns of the rows a converted rule over table returns (nil
// for a table no rule targets).
func Outputs(table string) []Output {
	if t := tableTargets[table]; t != nil {
		return t.outputs
	}
	return nil
}

// processCreationFields maps Sigma's process_creation fields (Sysmon 1, Security 4688
// names, Sysmon for Linux) to process_creation_events. Keys are lower case: Sigma
// field names are matched case-insensitively.
var processCreationFields = map[string]Column{
	"image":              {Name: "image"},
	"newprocessname":     {Name: "image"}, // 4688
	"commandline":        {Name: "cmdline"},
	"processcommandline": {Name: "cmdline"},
	"parentimage":        {Name: "parent_image"},
	"parentprocessname":  {Name: "parent_image"}, // 4688
	"parentcommandline":  {Name: "parent_cmdline"},
	"originalfilename":   {Name: "original_file_name"},
	"user":               {Name: "user"},
	"integritylevel":     {Name: "integrity_level"},
	"currentdirectory":   {Name: "current_directory"},
	"logonid":            {Name: "logon_id"},
	"subjectlogonid":     {Name: "logon_id"}, // 4688
	"processid":          {Name: "pid", Integer: true},
	"newprocessid":       {Name: "pid", Integer: true}, // 4688
	"parentprocessid":    {Name: "parent_pid", Integer: true},
	"processguid":        {Name: "process_guid"},
	"parentprocessguid":  {Name: "parent_process_guid"},
	"md5":                {Name: "md5"},
	"sha256":             {Name: "sha256"},
	"imphash":            {Name: "imphash"},
	"computer":           {Name: "computer"},
	"computername":       {Name: "computer"},
	"hostname":           {Name: "computer"},
	"description":        {Name: "description"},
	"product":            {Name: "product"},
	"company":            {Name: "company"},
	"fileversion":        {Name: "file_version"},
	"sha1":               {Name: "sha1"},
	"parentuser":         {Name: "parent_user"},
	"logonguid":          {Name: "logon_guid"},
	"terminalsessionid":  {Name: "terminal_session_id", Integer: true},
	"tokenelevationtype": {Name: "token_elevation_type"},
}

// scriptBlockFields maps Sigma's ps_script fields (4104) to powershell_script_blocks.
var scriptBlockFields = map[string]Column{
	"scriptblocktext": {Name: "script_text"},
	"path":            {Name: "script_path"},
	"scriptblockid":   {Name: "script_block_id"},
	"computer":        {Name: "computer"},
	"computername":    {Name: "computer"},
	"hostname":        {Name: "computer"},
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
	fields   map[string]Column
	platform string
	outputs  []Output // the SELECT list
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
			outputs: outputs("time", "datetime", "computer", "source", "user", "parent_name", "name", "image", "cmdline",
				"parent_image", "parent_cmdline", "original_file_name", "ancestry", "indicators", "score", "evidence"),
			stack: []string{"parent_name", "name"},
		}, nil
	case cat == "ps_script" && prod == "windows":
		return &target{
			table: ScriptBlockTable, fields: scriptBlockFields, platform: "windows",
			outputs: append(append(outputs("time", "datetime", "computer", "script_block_id", "script_path", "user_sid", "pid", "script_sha256"),
				Output{Name: "script_excerpt", From: "script_text", MaxChars: 200}), outputs("indicators", "score", "evidence")...),
			stack: []string{"script_sha256"},
		}, nil
	}
	return nil, unsupported("logsource category %q product %q (only process_creation on windows/linux and ps_script on windows)", ls.Category, ls.Product)
}

// selectList is the target's SELECT list.
func (t *target) selectList() string {
	parts := make([]string, len(t.outputs))
	for i, o := range t.outputs {
		parts[i] = o.sql()
	}
	return strings.Join(parts, ", ")
}
