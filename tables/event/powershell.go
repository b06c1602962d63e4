package event

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// PowerShell records reach exechunt in many shapes: named <Data Name="…"> values,
// unnamed positional <Data> items (the classic 800 always, 4103/4104 from exports
// that drop the names), the names exports give unnamed items ("param1"…, "Data1"…),
// keys that differ in case or spacing ("Host Application", "HostApplication"), and
// records that keep only the rendered message. psFields sees all of them at once, so
// each typed field is looked up in one place.

// psFields is a PowerShell record's EventData in every shape at once.
type psFields struct {
	named   map[string]string // folded name → first non-empty value
	unnamed []string          // unnamed values in order
	values  []string          // every value in source order, for content searches
}

func collectPS(d Fields) psFields {
	f := psFields{named: map[string]string{}}
	type pos struct {
		scheme, index int
		value         string
	}
	var items []pos
	d.Each(func(name, value string) {
		f.values = append(f.values, value)
		if scheme, index, ok := unnamedName(name); ok {
			items = append(items, pos{scheme, index, value})
			return
		}
		k := fold(name)
		if f.named[k] == "" {
			f.named[k] = value
		}
	})
	if len(items) == 0 {
		return f
	}
	// One naming scheme per record: the first one present, in order of trust.
	best := items[0].scheme
	for _, it := range items {
		best = min(best, it.scheme)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].index < items[j].index })
	for _, it := range items {
		if it.scheme == best {
			f.unnamed = append(f.unnamed, it.value)
		}
	}
	return f
}

// unnamedName recognises the names readers and exports give unnamed <Data> items:
// "#0", "#1"… (exechunt's readers), "param1", "param2"… (Winlogbeat, NXLog), and
// "Data", "Data1"… (XML-to-JSON converters that number repeated elements). It returns
// the scheme (lower is more trusted) and the index within it.
func unnamedName(name string) (scheme, index int, ok bool) {
	num := func(s string) (int, bool) {
		s = strings.TrimLeft(s, "_.-")
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	}
	switch {
	case strings.HasPrefix(name, "#"):
		n, ok := num(name[1:])
		return 0, n, ok
	case len(name) > 5 && strings.EqualFold(name[:5], "param"):
		n, ok := num(name[5:])
		return 1, n, ok
	case strings.EqualFold(name, "Data"):
		return 2, -1, true
	case len(name) > 4 && strings.EqualFold(name[:4], "Data"):
		n, ok := num(name[4:])
		return 2, n, ok
	}
	return 0, 0, false
}

// fold makes "Host Application", "HostApplication" and "host_application" one key.
func fold(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range strings.ToLower(name) {
		if r != ' ' && r != '_' && r != '-' && r != '\t' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// get is the named value (any spelling) or, when absent, the unnamed value at pos.
func (f psFields) get(name string, pos int) string {
	if v := f.named[fold(name)]; v != "" {
		return v
	}
	return f.pos(pos)
}

// pos is the unnamed value at i ("" when there is none).
func (f psFields) pos(i int) string {
	if i >= 0 && i < len(f.unnamed) {
		return f.unnamed[i]
	}
	return ""
}

// scriptBlockPart maps 4104. Unnamed items follow the manifest's order: MessageNumber,
// MessageTotal, ScriptBlockText, ScriptBlockId, Path. A record with no script text in
// any field falls back to its rendered message.
func scriptBlockPart(d Fields, level int, message string) *ScriptBlockPart {
	f := collectPS(d)
	if len(f.unnamed) < 3 {
		f.unnamed = nil // one or two unnamed values are no positional 4104
	}
	s := &ScriptBlockPart{
		ScriptBlockID: GUID(f.get("ScriptBlockId", 3)),
		MessageNumber: atoi(f.get("MessageNumber", 0)),
		MessageTotal:  atoi(f.get("MessageTotal", 1)),
		ScriptText:    f.get("ScriptBlockText", 2),
		ScriptPath:    f.get("Path", 4),
		Level:         level,
	}
	if s.ScriptText == "" {
		if m, ok := scriptBlockMessage(message); ok {
			s.ScriptText = m.ScriptText
			s.ScriptBlockID = first(s.ScriptBlockID, m.ScriptBlockID)
			s.ScriptPath = first(s.ScriptPath, m.ScriptPath)
			if s.MessageNumber == 0 {
				s.MessageNumber, s.MessageTotal = m.MessageNumber, m.MessageTotal
			}
		}
	}
	return s
}

var (
	partOf  = regexp.MustCompile(`^[^\r\n(]*\((\d+)\D+(\d+)\):?[ \t]*\r?\n`)
	blockID = regexp.MustCompile(`(?m)^[^\r\n:]*:[ \t]*\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?[ \t]*\r?$`)
)

// scriptBlockMessage reads 4104's rendered message, "Creating Scriptblock text (1 of
// 2):\r\n<text>\r\n\r\nScriptBlock ID: <guid>\r\nPath: <path>", by its structure, so
// that translated labels read as well.
func scriptBlockMessage(msg string) (ScriptBlockPart, bool) {
	var s ScriptBlockPart
	head := partOf.FindStringSubmatchIndex(msg)
	if head == nil {
		return s, false
	}
	s.MessageNumber = atoi(msg[head[2]:head[3]])
	s.MessageTotal = atoi(msg[head[4]:head[5]])
	body := msg[head[1]:]
	ids := blockID.FindAllStringSubmatchIndex(body, -1)
	if len(ids) == 0 {
		s.ScriptText = strings.TrimRight(body, "\r\n")
		return s, true
	}
	last := ids[len(ids)-1]
	s.ScriptBlockID = GUID(body[last[2]:last[3]])
	s.ScriptText = trimLineEnd(trimLineEnd(body[:last[0]])) // the text, then the blank line
	if rest := strings.TrimLeft(body[last[1]:], "\r\n"); rest != "" {
		line, _, _ := strings.Cut(rest, "\n")
		if _, p, ok := strings.Cut(line, ":"); ok {
			s.ScriptPath = strings.TrimSpace(p)
		}
	}
	return s, true
}

// pipeline maps 800 (classic pipeline execution) and 4103 (module logging) from any
// shape: named fields, unnamed items (800: command, details, payload; 4103:
// ContextInfo, UserData, Payload), "Key=Value" or "Key = Value" detail lines, and the
// rendered message when the record holds nothing else.
func pipeline(id uint32, d Fields, message string) *Pipeline {
	f := collectPS(d)
	var p Pipeline
	var details, command string
	if id == 4103 {
		details = f.get("ContextInfo", 0)
		p.Payload = f.get("Payload", 2)
	} else {
		command = strings.TrimSpace(f.pos(0))
		details = f.pos(1)
		p.Payload = f.get("Payload", 2)
		if len(f.unnamed) == 1 { // one blob: the items joined by the export
			command, details = "", f.unnamed[0]
		}
	}
	kv := keyValues(details)
	if !hasDetails(kv) {
		kv = keyValues(findDetails(f.values))
	}
	msg := pipelineMessage(id, message)
	if !hasDetails(kv) {
		kv = keyValues(msg.details)
	}
	pick := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(f.named[fold(n)]); v != "" {
				return v
			}
		}
		for _, n := range names {
			if v := kv[fold(n)]; v != "" {
				return v
			}
		}
		return ""
	}
	p.HostApplication = pick("HostApplication")
	p.ScriptName = pick("ScriptName")
	if id == 4103 {
		p.CommandLine = pick("CommandName")
		p.PSUser = pick("User")
	} else {
		p.CommandLine = first(command, msg.command, pick("CommandLine"))
		p.PSUser = pick("UserId")
	}
	p.Payload = first(p.Payload, msg.payload)
	return &p
}

// hasDetails tells whether parsed details name the host application or the command.
func hasDetails(kv map[string]string) bool {
	for _, k := range []string{"hostapplication", "commandline", "commandname"} {
		if _, ok := kv[k]; ok {
			return true
		}
	}
	return false
}

// findDetails returns the first value that holds a details block ("HostApplication="
// in any spacing): exports that keep the items under unexpected names.
func findDetails(values []string) string {
	for _, v := range values {
		if hasDetails(keyValues(v)) {
			return v
		}
	}
	return ""
}

type pipelineText struct{ command, details, payload string }

// pipelineMessage splits the rendered message of 800 ("Pipeline execution details for
// command line: <command>. \r\n\r\nContext Information: \r\n<details>\r\n\r\nDetails:
// \r\n<payload>") or 4103 ("<payload>\r\n\r\n\r\nContext:\r\n<details>\r\n\r\nUser
// Data:\r\n<user data>").
func pipelineMessage(id uint32, msg string) pipelineText {
	var t pipelineText
	if msg == "" {
		return t
	}
	if id == 4103 {
		payload, rest, ok := cutLabel(msg, "Context:")
		if !ok {
			return pipelineText{details: msg}
		}
		t.payload = strings.TrimSpace(payload)
		t.details, _, _ = cutLabel(rest, "User Data:")
		return t
	}
	head, rest, ok := cutLabel(msg, "Context Information:")
	if !ok {
		return pipelineText{details: msg}
	}
	if _, cmd, ok := strings.Cut(head, ": "); ok {
		cmd = strings.TrimSpace(cmd)
		cmd = strings.TrimSpace(strings.TrimSuffix(cmd, "."))
		t.command = cmd
	}
	t.details, t.payload, _ = cutLabel(rest, "Details:")
	t.payload = strings.TrimSpace(t.payload)
	return t
}

// cutLabel splits s around the first line that is exactly label (spaces aside).
func cutLabel(s, label string) (before, after string, found bool) {
	for off := 0; off < len(s); {
		end := strings.IndexByte(s[off:], '\n')
		next := len(s)
		if end >= 0 {
			next = off + end + 1
		}
		if strings.TrimSpace(s[off:next]) == label {
			return s[:off], s[next:], true
		}
		off = next
	}
	return s, "", false
}

// keyValues reads "Key=Value" and "Key = Value" lines (800 details, 4103 ContextInfo),
// CRLF or LF, indented or not, into folded keys; the first of a repeated key wins.
func keyValues(s string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = fold(strings.TrimSpace(k))
		if _, dup := out[k]; !dup && k != "" {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// trimLineEnd removes one trailing "\n" or "\r\n".
func trimLineEnd(s string) string {
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
}

// first returns the first non-empty value.
func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
