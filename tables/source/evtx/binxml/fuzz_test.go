package binxml

import (
	"errors"
	"testing"

	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

// FuzzParseRecord feeds arbitrary chunks and record offsets to ParseRecord and
// IsTemplated: no panic (recovered panics are reported as errInternal), and the tree
// stays within the documented limits.
func FuzzParseRecord(f *testing.F) {
	for _, dep := range []bool{false, true} {
		c, off := inlineChunk(dep)
		f.Add(trimChunk(c), off)
	}
	c, offs := templatedChunk()
	for _, off := range offs {
		f.Add(trimChunk(c), off)
	}
	f.Add([]byte("**\x00\x00\x20\x00\x00\x00"), 0)
	f.Fuzz(func(t *testing.T, chunk []byte, off int) {
		_ = IsTemplated(chunk, off)
		ev, err := ParseRecord(chunk, off)
		if errors.Is(err, errInternal) {
			t.Fatal(err)
		}
		if err != nil {
			return
		}
		elements, out, depth := measure(ev, 1)
		if elements > MaxElements+1 {
			t.Errorf("%d elements", elements)
		}
		if limit := maxOutputFactor*len(chunk) + 4096; out > limit {
			t.Errorf("%d output bytes for a %d-byte chunk (limit %d)", out, len(chunk), limit)
		}
		if depth > MaxDepth+1 {
			t.Errorf("depth %d", depth)
		}
	})
}

// trimChunk drops the zero padding after the last record (keeps the seeds small).
func trimChunk(c []byte) []byte {
	n := len(c)
	for n > chunkHeaderSize && c[n-1] == 0 {
		n--
	}
	return append([]byte(nil), c[:n+4]...)
}

// measure returns the elements+attributes, text bytes and depth of a tree.
func measure(e *xmlevent.Element, depth int) (elements, out, maxDepth int) {
	elements, out, maxDepth = 1+len(e.Attrs), len(e.Name)+len(e.Text), depth
	for _, a := range e.Attrs {
		out += len(a.Name) + len(a.Value)
	}
	for _, c := range e.Children {
		n, o, d := measure(c, depth+1)
		elements += n
		out += o
		maxDepth = max(maxDepth, d)
	}
	return elements, out, maxDepth
}
