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
		if r.EventID == 4688 {
			e.ProcessCreation = securityProcess(d)
		} else {
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
