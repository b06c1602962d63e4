package binxml

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Substitution value types ([MS-EVEN6] 2.2.12, libyal's EVTX document "Value types").
const (
	typNull      = 0x00
	typString    = 0x01 // UTF-16LE
	typANSI      = 0x02
	typInt8      = 0x03
	typUint8     = 0x04
	typInt16     = 0x05
	typUint16    = 0x06
	typInt32     = 0x07
	typUint32    = 0x08
	typInt64     = 0x09
	typUint64    = 0x0A
	typReal32    = 0x0B
	typReal64    = 0x0C
	typBool      = 0x0D
	typBinary    = 0x0E
	typGUID      = 0x0F
	typSizeT     = 0x10
	typFileTime  = 0x11
	typSysTime   = 0x12
	typSID       = 0x13
	typHexInt32  = 0x14
	typHexInt64  = 0x15
	typEvtHandle = 0x20
	typBinXML    = 0x21
	typEvtXML    = 0x23
	typArray     = 0x80
)

// fixedSize is the size of one item of a fixed-size type (0 when variable).
func fixedSize(typ byte) int {
	switch typ {
	case typInt8, typUint8:
		return 1
	case typInt16, typUint16:
		return 2
	case typInt32, typUint32, typReal32, typBool, typHexInt32:
		return 4
	case typInt64, typUint64, typReal64, typFileTime, typHexInt64:
		return 8
	case typGUID, typSysTime:
		return 16
	}
	return 0
}

// uintLE reads a 1-, 2-, 4- or 8-byte little-endian unsigned integer.
func uintLE(b []byte) (uint64, bool) {
	switch len(b) {
	case 1:
		return uint64(b[0]), true
	case 2:
		return uint64(binary.LittleEndian.Uint16(b)), true
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), true
	case 8:
		return binary.LittleEndian.Uint64(b), true
	}
	return 0, false
}

// formatValue renders one scalar substitution value as Windows' XML rendering does.
func formatValue(typ byte, b []byte) (string, error) {
	if n := fixedSize(typ); n != 0 && typ != typBool && len(b) != n {
		return "", fmt.Errorf("binxml: value of type 0x%02x has %d bytes, want %d", typ, len(b), n)
	}
	switch typ {
	case typNull:
		return "", nil
	case typString, typEvtXML:
		return decodeUTF16(b), nil
	case typANSI:
		return decodeANSI(b), nil
	case typInt8:
		return strconv.FormatInt(int64(int8(b[0])), 10), nil
	case typInt16:
		return strconv.FormatInt(int64(int16(binary.LittleEndian.Uint16(b))), 10), nil
	case typInt32:
		return strconv.FormatInt(int64(int32(binary.LittleEndian.Uint32(b))), 10), nil
	case typInt64:
		return strconv.FormatInt(int64(binary.LittleEndian.Uint64(b)), 10), nil
	case typUint8, typUint16, typUint32, typUint64:
		v, _ := uintLE(b)
		return strconv.FormatUint(v, 10), nil
	case typReal32:
		return strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 'g', -1, 32), nil
	case typReal64:
		return strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)), 'g', -1, 64), nil
	case typBool:
		v, ok := uintLE(b)
		if !ok {
			return "", fmt.Errorf("binxml: boolean value of %d bytes", len(b))
		}
		return strconv.FormatBool(v != 0), nil
	case typBinary, typEvtHandle, typBinXML:
		return hexUpper(b), nil
	case typGUID:
		return formatGUID(b), nil
	case typSizeT, typHexInt32, typHexInt64:
		v, ok := uintLE(b)
		if !ok {
			return "", fmt.Errorf("binxml: hex/size value of %d bytes", len(b))
		}
		return "0x" + strconv.FormatUint(v, 16), nil
	case typFileTime:
		return formatFileTime(binary.LittleEndian.Uint64(b)), nil
	case typSysTime:
		return formatSysTime(b), nil
	case typSID:
		s, n, err := formatSID(b)
		if err != nil {
			return "", err
		}
		if n != len(b) {
			return "", fmt.Errorf("binxml: SID value has %d bytes, SID uses %d", len(b), n)
		}
		return s, nil
	}
	// Unknown type: keep the bytes visible rather than fail the whole record.
	return hexUpper(b), nil
}

// arrayItems splits an array value (type without the 0x80 bit) into rendered items.
func arrayItems(typ byte, b []byte) ([]string, error) {
	var items []string
	switch typ {
	case typString:
		n := len(b) / 2 * 2
		start := 0
		for i := 0; i < n; i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				items = append(items, decodeUTF16(b[start:i]))
				start = i + 2
			}
		}
		if start < n {
			items = append(items, decodeUTF16(b[start:n]))
		}
		return items, nil
	case typANSI:
		for _, part := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
			items = append(items, decodeANSI([]byte(part)))
		}
		return items, nil
	case typSID:
		for len(b) > 0 {
			s, n, err := formatSID(b)
			if err != nil {
				return nil, err
			}
			items = append(items, s)
			b = b[n:]
		}
		return items, nil
	}
	size := fixedSize(typ)
	if size == 0 {
		// No item boundaries known: one item with the raw bytes.
		return []string{hexUpper(b)}, nil
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("binxml: array of type 0x%02x has %d bytes, not a multiple of %d", typ, len(b), size)
	}
	for i := 0; i < len(b); i += size {
		s, err := formatValue(typ, b[i:i+size])
		if err != nil {
			return nil, err
		}
		items = append(items, s)
	}
	return items, nil
}

// decodeANSI renders a code-page string: UTF-8 when it is valid UTF-8, otherwise
// Latin-1; trailing NULs are dropped.
func decodeANSI(b []byte) string {
	s := strings.TrimRight(string(b), "\x00")
	if utf8.ValidString(s) {
		return s
	}
	r := make([]rune, 0, len(s))
	for i := 0; i < len(s); i++ {
		r = append(r, rune(s[i]))
	}
	return string(r)
}

const hexDigits = "0123456789ABCDEF"

func hexUpper(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = hexDigits[c>>4]
		out[2*i+1] = hexDigits[c&15]
	}
	return string(out)
}

// formatGUID renders a little-endian GUID upper-case in braces, as Windows renders
// event XML.
func formatGUID(b []byte) string {
	return fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint16(b[4:]), binary.LittleEndian.Uint16(b[6:]),
		b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
}

// formatFileTime renders a FILETIME (100 ns ticks since 1601) as RFC 3339 UTC with
// seven fractional digits, like Windows' SystemTime attribute.
func formatFileTime(ft uint64) string {
	const ticksPerSecond = 10_000_000
	const epochDelta = 11644473600 // seconds from 1601-01-01 to 1970-01-01
	sec := int64(ft/ticksPerSecond) - epochDelta
	frac := ft % ticksPerSecond
	t := time.Unix(sec, 0).UTC()
	return t.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%07dZ", frac)
}

// formatSysTime renders a SYSTEMTIME (year, month, weekday, day, hour, minute,
// second, milliseconds as uint16) like formatFileTime.
func formatSysTime(b []byte) string {
	u := func(i int) int { return int(binary.LittleEndian.Uint16(b[2*i:])) }
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%07dZ", u(0), u(1), u(3), u(4), u(5), u(6), u(7)*10000)
}

// formatSID renders the SID at the start of b and returns its size in bytes.
func formatSID(b []byte) (string, int, error) {
	if len(b) < 8 {
		return "", 0, fmt.Errorf("binxml: SID of %d bytes", len(b))
	}
	n := int(b[1])
	size := 8 + 4*n
	if len(b) < size {
		return "", 0, fmt.Errorf("binxml: SID with %d sub-authorities in %d bytes", n, len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-")
	sb.WriteString(strconv.Itoa(int(b[0])))
	sb.WriteByte('-')
	if auth >= 1<<32 {
		fmt.Fprintf(&sb, "0x%012X", auth)
	} else {
		sb.WriteString(strconv.FormatUint(auth, 10))
	}
	for i := 0; i < n; i++ {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String(), size, nil
}
