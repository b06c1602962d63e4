package lineage

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis"
)

// row formats n (resolved) as a table row.
func (t *lineageTable) row(n *node) map[string]string {
	p := &n.p
	var par Proc
	parGUID := ""
	if n.up != nil {
		par = n.up.p
		parGUID = n.up.processGUID()
	}
	start := ""
	if !p.Start.IsZero() {
		start = strconv.FormatInt(p.Start.Unix(), 10)
	}
	indicators, score := t.analyse(p, &par)
	return map[string]string{
		colPID:           n.pidString(),
		colParent:        parentPID(n),
		colName:          p.Name,
		colPath:          p.Path,
		colCmdline:       p.Cmdline,
		colUsername:      p.User,
		colStartTime:     start,
		colParentName:    par.Name,
		colParentPath:    par.Path,
		colParentCmdline: par.Cmdline,
		colAncestry:      n.ancestry(),
		colAncestorPIDs:  n.ancestorPIDs(),
		colDepth:         strconv.Itoa(n.depth),
		colStatus:        n.status.String(),
		colGUID:          n.processGUID(),
		colParentGUID:    parGUID,
		colIndicators:    indicators,
		colScore:         strconv.Itoa(score),
	}
}

// pidString is n's pid in decimal: the tail of its resolved pid chain (no
// allocation per row).
func (n *node) pidString() string {
	if n.pids == "" {
		return strconv.FormatInt(n.p.PID, 10)
	}
	return n.pids[strings.LastIndexByte(n.pids, ',')+1:]
}

// parentPID is n's parent id in decimal, from the parent's chain when linked.
func parentPID(n *node) string {
	if n.up != nil && n.up.p.PID == n.p.PPID && n.up.pids != "" {
		return n.up.pidString()
	}
	return strconv.FormatInt(n.p.PPID, 10)
}

// processGUID is the source's GUID, or one derived from pid and start time.
func (n *node) processGUID() string {
	if n.guid == "" {
		n.guid = n.p.GUID
		if n.guid == "" {
			n.guid = DeriveGUID("", n.p.PID, n.p.Start.UnixNano())
		}
	}
	return n.guid
}

// DeriveGUID formats a stable, GUID-shaped id for one process incarnation:
// the first 16 bytes of SHA-256(scope, pid, start) as {8-4-4-4-12} lower-case hex.
// scope distinguishes boots or hosts (the Linux boot id); start is any value that
// does not change during the process's life (clock ticks since boot on Linux).
func DeriveGUID(scope string, pid, start int64) string {
	h := sha256.New()
	h.Write([]byte("exechunt-process\x00"))
	h.Write([]byte(scope))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(pid))
	binary.BigEndian.PutUint64(b[8:], uint64(start))
	h.Write(b[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var out [38]byte
	out[0] = '{'
	hex.Encode(out[1:9], sum[0:4])
	out[9] = '-'
	hex.Encode(out[10:14], sum[4:6])
	out[14] = '-'
	hex.Encode(out[15:19], sum[6:8])
	out[19] = '-'
	hex.Encode(out[20:24], sum[8:10])
	out[24] = '-'
	hex.Encode(out[25:37], sum[10:16])
	out[37] = '}'
	return string(out[:])
}

// analyse returns the indicators and score of p's command line in the context of
// its parent, from the cache when the same process incarnation was analysed with
// the same inputs before.
func (t *lineageTable) analyse(p, par *Proc) (string, int) {
	in := analysisInput{
		cmdline:       p.Cmdline,
		image:         orName(p.Path, p.Name),
		user:          p.User,
		parentImage:   orName(par.Path, par.Name),
		parentCmdline: par.Cmdline,
	}
	key := cacheKey{pid: p.PID, start: p.Start.UnixNano()}
	if t.cache != nil {
		if e, ok := t.cache.get(key); ok && e.in == in {
			return e.indicators, e.score
		}
	}
	res := t.analyzer.AnalyzeCommandLine(in.cmdline, analysis.Process{
		Image:         in.image,
		ParentImage:   in.parentImage,
		ParentCmdline: in.parentCmdline,
		User:          in.user,
	})
	indicators := strings.Join(res.Indicators, ",")
	if t.cache != nil {
		t.cache.put(key, cacheEntry{in: in, indicators: indicators, score: res.Score})
	}
	return indicators, res.Score
}

// orName is path, or name when the path is unknown (a parent whose executable
// cannot be read still has a name the parent/child rules understand).
func orName(path, name string) string {
	if path != "" {
		return path
	}
	return name
}
