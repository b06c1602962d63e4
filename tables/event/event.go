// Package event holds the typed, normalised execution events that every exechunt
// reader produces and every table consumes: process creations (Sysmon 1, Security
// 4688, Sysmon for Linux 1) and PowerShell script-block parts (4104), plus PowerShell
// pipeline (800) and module (4103) records.
//
// The package is pure: it maps a source-neutral Record (System fields plus named
// EventData values) to typed values, so EVTX, JSON-lines and syslog readers share one
// mapping and one set of quirk fixes.
package event

import "time"

// Kind tells which typed payload an Event carries.
type Kind string

// Event kinds. They are a public contract (the `kind` field of `exechunt events`).
const (
	KindProcessCreation Kind = "process_creation"
	KindScriptBlockPart Kind = "script_block_part"
	KindPipeline        Kind = "powershell_pipeline" // PowerShell 800 (classic) and 4103 (module logging)
	KindOther           Kind = "other"
)

// Event is one normalised event. Exactly one of the typed payloads is set for the
// execution kinds; Data carries the raw EventData of KindOther events (--all).
type Event struct {
	Kind          Kind      `json:"kind"`
	SourceFile    string    `json:"source_file"`
	Format        string    `json:"format"`            // evtx, jsonl, json, syslog, xml
	Locator       string    `json:"locator,omitempty"` // where in the file: "chunk 3 record 17", "line 42"
	Channel       string    `json:"channel"`
	Provider      string    `json:"provider"`
	EventID       uint32    `json:"event_id"`
	EventRecordID uint64    `json:"event_record_id"`
	Computer      string    `json:"computer"`
	Time          time.Time `json:"time"`
	Keywords      uint64    `json:"keywords,omitempty"`
	// ExecutionPID is the System/Execution ProcessID: the process that wrote the event
	// (for 4104 that is the PowerShell host).
	ExecutionPID int64  `json:"execution_pid,omitempty"`
	UserSID      string `json:"user_sid,omitempty"` // System/Security UserID
	// Truncated is set when the source cut the event short; fields after the cut are
	// missing and the last one may be partial.
	Truncated bool `json:"truncated,omitempty"`
	// Indicators and Score are the analysis of the command line or script (see
	// docs/indicators.md); set only when the reader was asked to analyse.
	Indicators []string `json:"indicators,omitempty"`
	Score      int      `json:"score,omitempty"`

	*ProcessCreation
	*ScriptBlockPart
	*Pipeline
	Data map[string]string `json:"data,omitempty"`
}

// ProcessCreation is a process start: Sysmon Event ID 1 (Windows and Linux),
// Security 4688 or a Linux audit execve/execveat event. Fields missing from a source (4688 has no GUIDs or hashes, Windows 7
// 4688 has no parent name, Sysmon schema < 10 has no OriginalFileName) stay empty.
type ProcessCreation struct {
	ProcessGUID      string `json:"process_guid,omitempty"`
	PID              int64  `json:"pid"`
	Image            string `json:"image"`
	OriginalFileName string `json:"original_file_name,omitempty"`
	FileVersion      string `json:"file_version,omitempty"`
	Description      string `json:"description,omitempty"`
	Product          string `json:"product,omitempty"`
	Company          string `json:"company,omitempty"`
	Cmdline          string `json:"cmdline"`
	// ArgvQuoted is Cmdline with the arguments a shell would split quoted (audit's
	// EXECVE argv), for the analysis; not a column, not serialised.
	ArgvQuoted        string `json:"-"`
	CurrentDirectory  string `json:"current_directory,omitempty"`
	User              string `json:"user,omitempty"`
	LogonGUID         string `json:"logon_guid,omitempty"`
	LogonID           string `json:"logon_id,omitempty"`
	TerminalSessionID string `json:"terminal_session_id,omitempty"`
	IntegrityLevel    string `json:"integrity_level,omitempty"`
	TokenElevation    string `json:"token_elevation_type,omitempty"` // 4688 %%1936/7/8 as words
	MD5               string `json:"md5,omitempty"`
	SHA1              string `json:"sha1,omitempty"`
	SHA256            string `json:"sha256,omitempty"`
	IMPHASH           string `json:"imphash,omitempty"`
	ParentProcessGUID string `json:"parent_process_guid,omitempty"`
	ParentPID         int64  `json:"parent_pid"`
	ParentImage       string `json:"parent_image,omitempty"`
	ParentCmdline     string `json:"parent_cmdline,omitempty"`
	ParentUser        string `json:"parent_user,omitempty"`
	RuleName          string `json:"rule_name,omitempty"` // Sysmon RuleName; the audit rule's key
	// LoginUser is the user who logged in to the session the process belongs to
	// (audit auid), whatever it became since (sudo, su); TTY its terminal (audit).
	LoginUser string `json:"login_user,omitempty"`
	TTY       string `json:"tty,omitempty"`
	// Failed marks an attempt that did not start the program (audit success=no: the
	// file was missing, not executable, denied…); such events are kept, not dropped.
	Failed bool `json:"failed,omitempty"`
	// EncodedCommand is a PowerShell -EncodedCommand argument; DecodedCommand the most
	// decoded form of the command line (set by analysis).
	EncodedCommand string `json:"encoded_command,omitempty"`
	DecodedCommand string `json:"decoded_command,omitempty"`
}

// ScriptBlockPart is one PowerShell 4104 event: part MessageNumber of MessageTotal of
// the script block ScriptBlockID. Large scripts are split over several parts; the
// powershell_script_blocks table reassembles them.
type ScriptBlockPart struct {
	ScriptBlockID string `json:"script_block_id"`
	MessageNumber int    `json:"message_number"`
	MessageTotal  int    `json:"message_total"`
	ScriptText    string `json:"script_text"`
	ScriptPath    string `json:"script_path,omitempty"`
	Level         int    `json:"level,omitempty"`   // 3 = warning: PowerShell itself found the block suspicious
	Decoded       string `json:"decoded,omitempty"` // the most decoded form of the text (set by analysis)
}

// Pipeline is a PowerShell pipeline-execution record: classic 800 or module-logging
// 4103. It is kept because it shows the host application and the command that ran.
type Pipeline struct {
	HostApplication string `json:"host_application,omitempty"`
	CommandLine     string `json:"command_line,omitempty"`
	ScriptName      string `json:"script_name,omitempty"`
	Payload         string `json:"payload,omitempty"`
	PSUser          string `json:"ps_user,omitempty"`
}
