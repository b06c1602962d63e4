package lineage

import (
	"bytes"
	"encoding/binary"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
)

// parseProcArgs parses macOS sysctl kern.procargs2 output: a native-endian int32
// argc, the executable path, NUL padding, then argc NUL-terminated arguments
// (the environment follows and is ignored). It returns the path and the joined
// command line; ok is false when the buffer is malformed.
func parseProcArgs(b []byte) (path, cmdLine string, ok bool) {
	if len(b) < 4 {
		return "", "", false
	}
	argc := int(int32(binary.LittleEndian.Uint32(b))) // darwin is little-endian on amd64 and arm64
	b = b[4:]
	i := bytes.IndexByte(b, 0)
	if i < 0 || argc < 0 {
		return "", "", false
	}
	path = string(b[:i])
	b = b[i:]
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	end := 0
	for n := 0; n < argc && end < len(b); n++ {
		j := bytes.IndexByte(b[end:], 0)
		if j < 0 {
			end = len(b)
			break
		}
		end += j + 1
	}
	return path, cmdline.JoinNUL(b[:end]), true
}
