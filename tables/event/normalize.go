package event

import (
	"sort"
	"strconv"
	"strings"
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
		e.ScriptBlockPart = scriptBlockPart(d, r.Level)
	case KindPipeline:
		e.Pipeline = pipeline(r.EventID, d)
	default:
		if keepOther {
			e.Data = map[string]string{}
			d.Each(func(k, v string) { e.Data[k] = v })
		}
	}
	return e
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
		Image:             CleanPath(get(d, "Image")),
		OriginalFileName:  dash(get(d, "OriginalFileName")),
		FileVersion:       dash(get(d, "FileVersion")),
		Description:       dash(get(d, "Description")),
		Product:           dash(get(d, "Product")),
		Company:           dash(get(d, "Company")),
		Cmdline:           get(d, "CommandLine"),
		CurrentDirectory:  CleanPath(get(d, "CurrentDirectory")),
		User:              get(d, "User"),
		LogonGUID:         GUID(get(d, "LogonGuid")),
		LogonID:           HexID(get(d, "LogonId")),
		TerminalSessionID: get(d, "TerminalSessionId"),
		IntegrityLevel:    get(d, "IntegrityLevel"),
		ParentProcessGUID: GUID(get(d, "ParentProcessGuid")),
		ParentPID:         PID(get(d, "ParentProcessId")),
		ParentImage:       CleanPath(dash(get(d, "ParentImage"))),
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
		Image:          CleanPath(get(d, "NewProcessName")),
		Cmdline:        get(d, "CommandLine"),
		ParentPID:      PID(get(d, "ProcessId")),
		ParentImage:    CleanPath(dash(get(d, "ParentProcessName"))),
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

func scriptBlockPart(d Fields, level int) *ScriptBlockPart {
	return &ScriptBlockPart{
		ScriptBlockID: GUID(get(d, "ScriptBlockId")),
		MessageNumber: atoi(get(d, "MessageNumber")),
		MessageTotal:  atoi(get(d, "MessageTotal")),
		ScriptText:    get(d, "ScriptBlockText"),
		ScriptPath:    get(d, "Path"),
		Level:         level,
	}
}

// pipeline maps 4103 (ContextInfo + Payload) and 800 (HostApplication etc. inside the
// second positional value, "\tKey=Value" lines; the payload is the third).
func pipeline(id uint32, d Fields) *Pipeline {
	if id == 4103 {
		kv := keyValues(get(d, "ContextInfo"), " = ")
		return &Pipeline{
			HostApplication: kv["Host Application"],
			ScriptName:      kv["Script Name"],
			CommandLine:     kv["Command Name"],
			PSUser:          kv["User"],
			Payload:         get(d, "Payload"),
		}
	}
	details := get(d, "#1")
	payload := get(d, "#2")
	if v, ok := d.Get("HostApplication"); ok { // flat exports that name the values
		details = "HostApplication=" + v + "\n" + details
	}
	kv := keyValues(details, "=")
	return &Pipeline{
		HostApplication: kv["HostApplication"],
		CommandLine:     kv["CommandLine"],
		ScriptName:      kv["ScriptName"],
		PSUser:          kv["UserId"],
		Payload:         payload,
	}
}

// keyValues splits "  Key = Value\r\n" style text (PowerShell ContextInfo, 800 details).
func keyValues(s, sep string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, sep)
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := out[k]; !dup {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
