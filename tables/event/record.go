package event

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Fields is a read-only view of a record's named EventData values, so that readers
// need not copy every value of every record into a map before it is known to matter.
type Fields interface {
	// Get returns the value of the named EventData field (exact, case-sensitive name).
	Get(name string) (string, bool)
	// Each calls fn for every field in source order. Unnamed values (PowerShell 800
	// keeps its data as a positional list) are named "#0", "#1", ….
	Each(fn func(name, value string))
}

// Record is a source-neutral event as a reader found it: the System block plus the
// EventData fields. Normalize maps it to a typed Event.
type Record struct {
	Provider     string
	Channel      string
	Computer     string
	EventID      uint32
	RecordID     uint64
	Time         time.Time
	Keywords     uint64
	Level        int
	ExecutionPID int64
	UserSID      string
	Data         Fields
	// Message is the rendered message text where an export keeps one (NXLog,
	// Winlogbeat, RenderedXml): Normalize reads PowerShell records from it when their
	// EventData holds nothing.
	Message string
	// Truncated marks a record the source cut short (syslog message size limits);
	// the fields read before the cut are kept.
	Truncated bool

	SourceFile string
	Format     string
	Locator    string
	// FileRecordID is the EVTX record header's number (monotonic within a file; exports
	// renumber it 1..N); zero for other formats. Tails resume from it.
	FileRecordID uint64
}

// MapFields is a Fields backed by a map, for readers that decode into maps anyway
// (JSON, XML). Order gives Each a stable order; names missing from it follow sorted.
type MapFields struct {
	Values map[string]string
	Order  []string
}

// Get implements Fields.
func (m MapFields) Get(name string) (string, bool) {
	v, ok := m.Values[name]
	return v, ok
}

// Each implements Fields.
func (m MapFields) Each(fn func(name, value string)) {
	if len(m.Order) == len(m.Values) {
		for _, k := range m.Order {
			fn(k, m.Values[k])
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m.Values)) {
		fn(k, m.Values[k])
	}
}

// Linux audit events as the audit reader (tables/source/auditlog) hands them over: one
// record per execve/execveat event, its SYSCALL, EXECVE, CWD, PATH and PROCTITLE
// records joined, under the SYSCALL record type's number as its event ID.
const (
	ProviderLinuxAudit = "Linux-Audit"
	ChannelLinuxAudit  = "audit"
	EventIDAuditExec   = 1300
)

// Classify tells which kind a record maps to from its provider, channel and event ID
// alone, so readers can skip the EventData of everything else cheaply.
func Classify(provider, channel string, id uint32) Kind {
	switch id {
	case 1:
		if isSysmon(provider, channel) {
			return KindProcessCreation
		}
	case 4688:
		if provider == "Microsoft-Windows-Security-Auditing" || (provider == "" && strings.EqualFold(channel, "Security")) {
			return KindProcessCreation
		}
	case EventIDAuditExec:
		if provider == ProviderLinuxAudit {
			return KindProcessCreation
		}
	case 4104:
		if isPowerShellOperational(provider, channel) {
			return KindScriptBlockPart
		}
	case 4103:
		if isPowerShellOperational(provider, channel) {
			return KindPipeline
		}
	case 800:
		if provider == "PowerShell" || strings.EqualFold(channel, "Windows PowerShell") {
			return KindPipeline
		}
	}
	return KindOther
}

func isSysmon(provider, channel string) bool {
	switch provider {
	case "Microsoft-Windows-Sysmon", "Linux-Sysmon":
		return true
	case "":
		return strings.EqualFold(channel, "Microsoft-Windows-Sysmon/Operational") ||
			strings.EqualFold(channel, "Linux-Sysmon/Operational")
	}
	return false
}

func isPowerShellOperational(provider, channel string) bool {
	if provider == "Microsoft-Windows-PowerShell" {
		return true
	}
	return provider == "" && strings.EqualFold(channel, "Microsoft-Windows-PowerShell/Operational")
}
