package auditlog

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/exechunt/exechunt/tables/internal/decimal"
)

// Record types the reader joins (linux/audit.h). Other types are counted and passed
// over.
const (
	typeSyscall   = 1300
	typePath      = 1302
	typeCwd       = 1307
	typeExecve    = 1309
	typeEOE       = 1320
	typeProctitle = 1327
)

var typeNames = map[string]uint16{
	"SYSCALL": typeSyscall, "PATH": typePath, "CWD": typeCwd, "EXECVE": typeExecve, "EOE": typeEOE, "PROCTITLE": typeProctitle,
}

// stamp identifies an audit event: the kernel's timestamp and serial number, and
// the node (host) name when the log carries one (auditd name_format).
type stamp struct {
	node   string
	sec    int64
	ms     int32
	serial uint64
}

// header is what precedes a record's fields.
type header struct {
	typ uint16 // 0 for record types the reader does not join
	stamp
}

var (
	errNotRecord = errors.New("not an audit record (want type=… msg=audit(SECONDS.MS:SERIAL): …)")
	errStamp     = errors.New("bad audit(SECONDS.MS:SERIAL) stamp")
)

// parseLine splits an audit.log line ("[node=N ]type=T msg=audit(S.MS:SERIAL): fields")
// into its header and its fields. T is a name (SYSCALL), UNKNOWN[1327] or a number.
func parseLine(line []byte) (header, []byte, error) {
	var h header
	rest := line
	if bytes.HasPrefix(rest, []byte("node=")) {
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			return h, nil, errNotRecord
		}
		h.node = string(rest[len("node="):sp])
		rest = bytes.TrimLeft(rest[sp:], " ")
	}
	if !bytes.HasPrefix(rest, []byte("type=")) {
		return h, nil, errNotRecord
	}
	rest = rest[len("type="):]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return h, nil, errNotRecord
	}
	h.typ = recordType(rest[:sp])
	rest = bytes.TrimLeft(rest[sp:], " ")
	if !bytes.HasPrefix(rest, []byte("msg=")) {
		return h, nil, errNotRecord
	}
	body, err := parseStamp(rest[len("msg="):], &h.stamp)
	return h, body, err
}

// parseMessage parses a record as the kernel sends it over netlink: the type from
// the netlink header and "audit(S.MS:SERIAL): fields".
func parseMessage(typ uint16, msg []byte) (header, []byte, error) {
	h := header{}
	switch typ {
	case typeSyscall, typePath, typeCwd, typeExecve, typeEOE, typeProctitle:
		h.typ = typ
	}
	body, err := parseStamp(bytes.TrimSpace(msg), &h.stamp)
	return h, body, err
}

// recordType maps a type= value to one of the joined types, else 0.
func recordType(b []byte) uint16 {
	if t, ok := typeNames[string(b)]; ok {
		return t
	}
	if n, ok := bytes.CutPrefix(b, []byte("UNKNOWN[")); ok {
		b, _ = bytes.CutSuffix(n, []byte("]"))
	}
	v, err := strconv.ParseUint(string(b), 10, 16)
	if err != nil {
		return 0
	}
	switch v {
	case typeSyscall, typePath, typeCwd, typeExecve, typeEOE, typeProctitle:
		return uint16(v)
	}
	return 0
}

// parseStamp parses "audit(1604996384.965:93777):" at the start of b into st and
// returns the fields after it.
func parseStamp(b []byte, st *stamp) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte("audit(")) {
		return nil, errStamp
	}
	b = b[len("audit("):]
	end := bytes.IndexByte(b, ')')
	if end < 0 {
		return nil, errStamp
	}
	in := b[:end]
	dot := bytes.IndexByte(in, '.')
	colon := bytes.IndexByte(in, ':')
	if dot <= 0 || colon < dot {
		return nil, errStamp
	}
	sec, ok1 := decimal.Uint(in[:dot])
	ms, ok2 := decimal.Uint(in[dot+1 : colon])
	serial, ok3 := decimal.Uint(in[colon+1:])
	if !ok1 || !ok2 || !ok3 || ms > 999 || colon-dot-1 > 3 || sec > 1<<40 {
		return nil, errStamp
	}
	st.sec, st.ms, st.serial = int64(sec), int32(ms), serial
	if colon-dot-1 < 3 { // "1.5" is 500 ms, as the kernel always prints three digits
		for i := colon - dot - 1; i < 3; i++ {
			st.ms *= 10
		}
	}
	body := b[end+1:]
	body, _ = bytes.CutPrefix(body, []byte(":"))
	return bytes.TrimLeft(body, " "), nil
}

// fields calls fn for every key=value pair of a record's fields, in order, with the
// value as written (quotes kept; see text). An enriched log (log_format=ENRICHED)
// appends the names of ids after a 0x1d byte as upper-case keys (AUID="alice"); they
// are passed on like the others. Text that is not a pair is passed over.
func fields(b []byte, fn func(key, val []byte)) {
	for len(b) > 0 {
		for len(b) > 0 && (b[0] == ' ' || b[0] == 0x1d) {
			b = b[1:]
		}
		eq := -1
		for i, c := range b {
			if c == '=' {
				eq = i
				break
			}
			if c == ' ' || c == 0x1d {
				break
			}
		}
		if eq <= 0 {
			// Not a pair: skip this word.
			i := bytes.IndexAny(b, " \x1d")
			if i < 0 {
				return
			}
			b = b[i:]
			continue
		}
		key := b[:eq]
		b = b[eq+1:]
		var val []byte
		if len(b) > 0 && (b[0] == '"' || b[0] == '\'') {
			end := bytes.IndexByte(b[1:], b[0])
			if end < 0 {
				val, b = b, nil // cut short: keep what is there
			} else {
				val, b = b[:end+2], b[end+2:]
			}
		} else {
			i := bytes.IndexAny(b, " \x1d")
			if i < 0 {
				val, b = b, nil
			} else {
				val, b = b[:i], b[i:]
			}
		}
		fn(key, val)
	}
}

// text decodes a string field as the kernel writes it: in double quotes when it is
// plain, else as upper-case hex of its bytes (spaces, quotes, control or non-ASCII
// bytes); "(null)" and "?" are empty. A value that is neither is kept as is.
func text(v []byte) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return string(v[1 : len(v)-1])
	}
	if len(v) > 0 && v[0] == '"' { // cut short
		return string(v[1:])
	}
	switch string(v) {
	case "(null)", "?", "(none)":
		return ""
	}
	if b, ok := unhex(v); ok {
		return string(b)
	}
	return string(v)
}

// unhex decodes upper- or lower-case hex of even length.
func unhex(v []byte) ([]byte, bool) {
	if len(v) == 0 || len(v)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(v)/2)
	for i := 0; i < len(out); i++ {
		a, ok1 := fromHex(v[2*i])
		b, ok2 := fromHex(v[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out[i] = a<<4 | b
	}
	return out, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// execveSyscalls are the execve and execveat numbers per audit arch (the AUDIT_ARCH_*
// value SYSCALL records print in hex).
var execveSyscalls = map[string][2]uint64{
	"c000003e": {59, 322},  // x86_64
	"40000003": {11, 358},  // i386
	"c00000b7": {221, 281}, // aarch64
	"40000028": {11, 387},  // arm
	"c0000015": {11, 362},  // ppc64le
	"80000015": {11, 362},  // ppc64
	"80000016": {11, 354},  // s390x
	"c00000f3": {221, 281}, // riscv64
}

// isExecve reports whether a SYSCALL record's arch and syscall name an execve or
// execveat; interpreted logs (ausearch -i) and enriched ones give the name.
func isExecve(arch, syscall, name []byte) bool {
	switch string(name) {
	case "execve", "execveat":
		return true
	case "":
	default:
		return false
	}
	switch string(syscall) {
	case "execve", "execveat":
		return true
	}
	n, ok := decimal.Uint(syscall)
	if !ok {
		return false
	}
	nums, known := execveSyscalls[string(bytes.ToLower(arch))]
	return known && (n == nums[0] || n == nums[1])
}
