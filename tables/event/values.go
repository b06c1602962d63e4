package event

import (
	"strconv"
	"strings"
)

// GUID normalises a GUID to exechunt's one form: lower-case, no braces
// ("5aa13a44-0130-68fd-4e35-000000004002"). EVTX and XML give "{UPPER-CASE}", JSON
// exports "{lower-case}", some exports drop the braces.
func GUID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	if s == "-" {
		return ""
	}
	return strings.ToLower(s)
}

// PID parses a process ID given as decimal ("2440") or hex ("0x988"); anything else
// (empty, "-", garbage) is 0.
func PID(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return 0
	}
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return 0
		}
		return int64(n)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// HexID normalises a logon ID to lower-case hex with 0x ("0x2d5a4b"), whether it came
// as hex text or as a decimal integer (EVTX HexInt64 substitutions decode to numbers).
func HexID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return ""
	}
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return "0x" + h
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return s
	}
	return "0x" + strconv.FormatUint(n, 16)
}

// Hashes splits Sysmon's "SHA1=…,MD5=…,SHA256=…,IMPHASH=…" into lower-case hex values.
func Hashes(s string) (md5, sha1, sha256, imphash string) {
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		v = strings.ToLower(strings.TrimSpace(v))
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "MD5":
			md5 = v
		case "SHA1":
			sha1 = v
		case "SHA256":
			sha256 = v
		case "IMPHASH":
			imphash = v
		}
	}
	return
}

// Account joins a domain and a user name as DOMAIN\user; "-" and empty parts are
// dropped, and the null SID's "-" user yields "".
func Account(domain, user string) string {
	domain, user = dash(strings.TrimSpace(domain)), dash(strings.TrimSpace(user))
	switch {
	case user == "":
		return ""
	case domain == "":
		return user
	}
	return domain + `\` + user
}

// IntegrityFromLabel maps a 4688 MandatoryLabel SID to Sysmon's integrity words.
func IntegrityFromLabel(sid string) string {
	switch strings.ToUpper(strings.TrimSpace(sid)) {
	case "S-1-16-0":
		return "Untrusted"
	case "S-1-16-4096":
		return "Low"
	case "S-1-16-8192":
		return "Medium"
	case "S-1-16-8448":
		return "MediumPlus"
	case "S-1-16-12288":
		return "High"
	case "S-1-16-16384":
		return "System"
	case "S-1-16-20480":
		return "Protected"
	}
	return ""
}

// TokenElevation maps 4688's TokenElevationType message references to words.
func TokenElevation(s string) string {
	switch strings.TrimSpace(s) {
	case "%%1936", "1936":
		return "full" // type 1: UAC off or built-in administrator
	case "%%1937", "1937":
		return "elevated" // type 2: run as administrator
	case "%%1938", "1938":
		return "limited" // type 3: filtered token
	}
	return ""
}

// ParseUint reads an unsigned field of an event (Keywords, ids, pids, levels) given
// as an unsigned or signed decimal (NXLog writes the uint64 Keywords as int64) or as
// 0x-hex, without going through float64; anything else is 0.
func ParseUint(s string) uint64 {
	s = strings.TrimSpace(s)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, _ := strconv.ParseUint(h, 16, 64)
		return n
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return uint64(n)
	}
	return 0
}
