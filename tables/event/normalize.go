package event

import (
	"strconv"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// Normalize maps a record to a typed event. keepOther controls whether the EventData
// of non-execution records is copied into Event.Data (for `exechunt events --all`).
func Normalize(r *Record, keepOther bool) Event {
	e := Event{
		Kind:          Classify(r.Provider, r.Channel, r.EventID),
		SourceFile:    r.SourceFile,
		Format:        r.Format,
		Locator:       r.Locator,
		Channel:       r.Channel,
		Provider:      r.Provider,
		EventID:       r.EventID,
		EventRecordID: r.RecordID,
		Computer:      r.Computer,
		Time:          r.Time.UTC(),
		Keywords:      r.Keywords,
		ExecutionPID:  r.ExecutionPID,
		UserSID:       r.UserSID,
		Truncated:     r.Truncated,
	}
	d := r.Data
	if d == nil {
		d = MapFields{}
	}
	switch e.Kind {
	case KindProcessCreation:
		switch {
		case r.EventID == 4688:
			e.ProcessCreation = securityProcess(d)
		case r.Provider == ProviderLinuxAudit:
			e.ProcessCreation = auditProcess(d)
		default:
			e.ProcessCreation = sysmonProcess(d)
		}
	case KindScriptBlockPart:
		e.ScriptBlockPart = scriptBlockPart(d, r.Level, message(r, d))
	case KindPipeline:
		e.Pipeline = pipeline(r.EventID, d, message(r, d))
	default:
		if keepOther {
			e.Data = map[string]string{}
			d.Each(func(k, v string) { e.Data[k] = v })
		}
	}
	return e
}

// message is the record's rendered message: the reader's, or a flat export's
// "Message" field.
func message(r *Record, d Fields) string {
	if r.Message != "" {
		return r.Message
	}
	return get(d, "Message")
}

func get(d Fields, name string) string {
	v, _ := d.Get(name)
	return v
}

// sysmonProcess maps Sysmon Event ID 1 (Windows schema 2.0–4.x and Sysmon for Linux).
func sysmonProcess(d Fields) *ProcessCreation {
	p := &ProcessCreation{
		ProcessGUID:       GUID(get(d, "ProcessGuid")),
		PID:               PID(get(d, "ProcessId")),
		Image:             cmdline.CleanPath(get(d, "Image")),
		OriginalFileName:  dash(get(d, "OriginalFileName")),
		FileVersion:       dash(get(d, "FileVersion")),
		Description:       dash(get(d, "Description")),
		Product:           dash(get(d, "Product")),
		Company:           dash(get(d, "Company")),
		Cmdline:           get(d, "CommandLine"),
		CurrentDirectory:  cmdline.CleanPath(get(d, "CurrentDirectory")),
		User:              get(d, "User"),
		LogonGUID:         GUID(get(d, "LogonGuid")),
		LogonID:           HexID(get(d, "LogonId")),
		TerminalSessionID: get(d, "TerminalSessionId"),
		IntegrityLevel:    get(d, "IntegrityLevel"),
		ParentProcessGUID: GUID(get(d, "ParentProcessGuid")),
		ParentPID:         PID(get(d, "ParentProcessId")),
		ParentImage:       cmdline.CleanPath(dash(get(d, "ParentImage"))),
		ParentCmdline:     get(d, "ParentCommandLine"),
		ParentUser:        get(d, "ParentUser"),
		RuleName:          dash(get(d, "RuleName")),
	}
	hashes := get(d, "Hashes")
	if hashes == "" {
		hashes = get(d, "Hash")
	}
	p.MD5, p.SHA1, p.SHA256, p.IMPHASH = Hashes(hashes)
	return p
}

// securityProcess maps Security 4688. NewProcessId/ProcessId arrive as hex strings
// ("0x988") in exports and as integers from EVTX; ParentProcessName exists only from
// Windows 10 / Server 2016 on; the creator is the Subject, the new process runs as the
// Target when one is given.
func securityProcess(d Fields) *ProcessCreation {
	p := &ProcessCreation{
		PID:            PID(get(d, "NewProcessId")),
		Image:          cmdline.CleanPath(get(d, "NewProcessName")),
		Cmdline:        get(d, "CommandLine"),
		ParentPID:      PID(get(d, "ProcessId")),
		ParentImage:    cmdline.CleanPath(dash(get(d, "ParentProcessName"))),
		LogonID:        HexID(get(d, "SubjectLogonId")),
		IntegrityLevel: IntegrityFromLabel(get(d, "MandatoryLabel")),
		TokenElevation: TokenElevation(get(d, "TokenElevationType")),
	}
	subject := Account(get(d, "SubjectDomainName"), get(d, "SubjectUserName"))
	target := Account(get(d, "TargetDomainName"), get(d, "TargetUserName"))
	p.User = subject
	if target != "" {
		p.User = target
		p.LogonID = HexID(get(d, "TargetLogonId"))
	}
	p.ParentUser = subject
	return p
}

// auditProcess maps a Linux audit execve event as the audit reader joins it: the
// SYSCALL record's own field names (pid, ppid, uid, auid, ses, tty, exe, success,
// key; UID and AUID are the names an enriched log adds), the CWD record's cwd, the
// PATH record of item 0 as path, and the argument vector joined as cmdline (from the
// EXECVE record, else PROCTITLE). A failed execve's exe is the caller's, so its image
// is the file it tried to run (path).
func auditProcess(d Fields) *ProcessCreation {
	p := &ProcessCreation{
		PID:               PID(get(d, "pid")),
		ParentPID:         PID(get(d, "ppid")),
		Image:             get(d, "exe"),
		Cmdline:           get(d, "cmdline"),
		ArgvQuoted:        get(d, "argv_quoted"),
		CurrentDirectory:  get(d, "cwd"),
		User:              auditUser(get(d, "UID"), get(d, "uid")),
		TerminalSessionID: auditID(get(d, "ses")),
		TTY:               dash(strings.TrimSpace(get(d, "tty"))),
		RuleName:          get(d, "key"),
		Failed:            get(d, "success") == "no",
	}
	if p.TTY == "(none)" {
		p.TTY = ""
	}
	if auid := auditID(get(d, "auid")); auid != "" {
		p.LoginUser = auditUser(get(d, "AUID"), auid)
		p.LogonID = HexID(auid) // as Sysmon for Linux: LogonId is the login uid
	}
	if path := get(d, "path"); path != "" && (p.Failed || p.Image == "") {
		if !strings.HasPrefix(path, "/") && p.CurrentDirectory != "" {
			path = strings.TrimSuffix(p.CurrentDirectory, "/") + "/" + strings.TrimPrefix(path, "./")
		}
		p.Image = path
	}
	return p
}

// auditID is an audit id field, "" when unset (4294967295 or -1).
func auditID(s string) string {
	switch s = strings.TrimSpace(s); s {
	case "4294967295", "-1", "unset":
		return ""
	}
	return s
}

// auditUser names an audit uid: the name an enriched log gives (auditd writes
// "unknown(4242)" for a uid without one), else root for 0, else the number.
func auditUser(name, uid string) string {
	switch {
	case name != "" && name != "unset" && !strings.HasPrefix(name, "unknown("):
		return name
	case uid == "0":
		return "root"
	}
	return auditID(uid)
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

// dash maps the "-" that Sysmon and 4688 write for "no value" to "".
func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}
