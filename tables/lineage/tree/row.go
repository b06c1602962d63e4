package tree

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/exechunt/exechunt/tables/lineage/schema"
)

// Row formats resolved n, with the indicators and score of its analysis
// (Scorer.Result), as a process_lineage row. It only reads n, so rows of scored
// nodes can be formatted in parallel.
func Row(n *Node, indicators []string, score int) map[string]string {
	p := &n.P
	start := ""
	if !p.Start.IsZero() {
		start = strconv.FormatInt(p.Start.Unix(), 10)
	}
	par := n.effectiveParent()
	parGUID := p.ParentGUID
	if n.up != nil {
		parGUID = n.up.guidOrDerived()
	}
	return map[string]string{
		schema.PID:           strconv.FormatInt(p.PID, 10),
		schema.Parent:        strconv.FormatInt(p.PPID, 10),
		schema.Name:          n.name,
		schema.Path:          p.Path,
		schema.Cmdline:       p.Cmdline,
		schema.Username:      p.User,
		schema.StartTime:     start,
		schema.ParentName:    par.name,
		schema.ParentPath:    par.path,
		schema.ParentCmdline: par.cmdline,
		schema.Ancestry:      n.chain,
		schema.AncestorPIDs:  n.AncestorPIDs(),
		schema.Depth:         strconv.Itoa(n.depth),
		schema.Status:        n.status.String(),
		schema.GUID:          n.guidOrDerived(),
		schema.ParentGUID:    parGUID,
		schema.Indicators:    strings.Join(indicators, ","),
		schema.Score:         strconv.Itoa(score),
	}
}

// guidOrDerived is GUID without memoising (Row runs in parallel; Scorer.Result
// memoises it first).
func (n *Node) guidOrDerived() string {
	if n.guid != "" {
		return n.guid
	}
	if n.P.GUID != "" {
		return n.P.GUID
	}
	return DeriveGUID(n.P.Host, n.P.PID, n.P.Start.UnixNano())
}

type parentFields struct{ name, path, cmdline string }

// Parent is n's parent's name, path and command line: as n's own creation record
// describes it, else as resolved (a 4688 without ParentProcessName, a Linux audit
// execve, which names only the parent's pid); empty when unknown.
func (n *Node) Parent() (name, path, cmdline string) {
	p := n.effectiveParent()
	return p.name, p.path, p.cmdline
}

// effectiveParent is n's parent as its own creation record describes it (the
// parent when n was created), else the resolved parent.
func (n *Node) effectiveParent() parentFields {
	if n.P.reported() {
		return parentFields{schema.ProcessName(n.P.ParentPath, ""), n.P.ParentPath, n.P.ParentCmdline}
	}
	if n.up != nil {
		return parentFields{n.up.name, n.up.P.Path, n.up.P.Cmdline}
	}
	return parentFields{}
}

// DeriveGUID formats a stable, GUID-shaped id for one process incarnation: the
// first 16 bytes of SHA-256(scope, pid, start) as 8-4-4-4-12 lower-case hex, the
// form Sysmon's ProcessGuid takes in the tables. scope distinguishes boots or hosts
// (the Linux boot id, an evidence's computer); start is any value that does not
// change during the process's life (clock ticks since boot on Linux).
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
	var out [36]byte
	hex.Encode(out[0:8], sum[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], sum[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], sum[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], sum[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], sum[10:16])
	return string(out[:])
}
