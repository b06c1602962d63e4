package binxml

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/tables/source/xmlevent"
)

const (
	fileHeaderSize = 0x1000
	chunkSize      = 0x10000
)

// corpusDir locates the shared corpus: $EXECHUNT_CORPUS, else ../shared/corpus
// relative to the repository root. It skips the test when absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("EXECHUNT_CORPUS"); d != "" {
		if _, err := os.Stat(d); err == nil {
			return d
		}
		t.Skipf("EXECHUNT_CORPUS=%s does not exist; skipping corpus test", d)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Skipf("no working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found; skipping corpus test")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("corpus not found at %s (set EXECHUNT_CORPUS); skipping corpus test", d)
	}
	return d
}

func corpusFiles(t testing.TB) []string {
	root := corpusDir(t)
	var files []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) == 0 {
		t.Skipf("no .evtx files under %s", root)
	}
	return files
}

// chunkOffsets lists the file offsets of the chunks with a valid magic.
func chunkOffsets(data []byte) []int {
	var offs []int
	for off := fileHeaderSize; off+chunkSize <= len(data); off += chunkSize {
		if string(data[off:off+8]) == "ElfChnk\x00" {
			offs = append(offs, off)
		}
	}
	return offs
}

// recordOffsets walks the records of a chunk: header id -> chunk offset.
func recordOffsets(chunk []byte) (ids []uint64, offs []int) {
	for off := chunkHeaderSize; off+recordHeaderSize <= len(chunk); {
		if string(chunk[off:off+4]) != recordMagic {
			break
		}
		size := int(binary.LittleEndian.Uint32(chunk[off+4:]))
		if size < recordHeaderSize+4 || off+size > len(chunk) {
			break
		}
		ids = append(ids, binary.LittleEndian.Uint64(chunk[off+8:]))
		offs = append(offs, off)
		off += size
	}
	return ids, offs
}

// exported runs libyal's evtxexport (Debian libevtx-utils), an independent C
// implementation of the format, over path and returns its events by EventRecordID.
func exported(t *testing.T, bin, path string) map[uint64]*xmlevent.Element {
	t.Helper()
	out, err := exec.Command(bin, "-f", "xml", path).Output()
	if err != nil {
		t.Fatalf("evtxexport %s: %v", path, err)
	}
	events := map[uint64]*xmlevent.Element{}
	for _, part := range strings.Split(string(out), "</Event>") {
		i := strings.Index(part, "<Event ")
		if i < 0 {
			continue
		}
		ev, err := xmlevent.Parse([]byte(part[i:] + "</Event>"))
		if err != nil {
			t.Errorf("%s: evtxexport output does not parse: %v", path, err)
			continue
		}
		id, _ := strconv.ParseUint(ev.Child("System").ChildText("EventRecordID"), 10, 64)
		events[id] = ev
	}
	return events
}

// sameText compares two renderings of one value: equal once line ends are made
// one (evtxexport's text goes through an XML parser, which turns CRLF into LF), or
// equal numbers where one side writes hex with zero padding (evtxexport:
// 0x00000000000003e7, Windows and this decoder: 0x3e7), or equal times.
func sameText(a, b string) bool {
	if a == b || strings.ReplaceAll(a, "\r\n", "\n") == b {
		return true
	}
	num := func(s string) (uint64, bool) {
		if h, ok := strings.CutPrefix(s, "0x"); ok {
			v, err := strconv.ParseUint(h, 16, 64)
			return v, err == nil
		}
		v, err := strconv.ParseUint(s, 10, 64)
		return v, err == nil
	}
	if x, ok := num(a); ok {
		y, ok := num(b)
		return ok && x == y
	}
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.Equal(tb)
}

// compareRecord returns "" when our tree agrees with evtxexport's, else why not:
// System's EventID, EventRecordID, Channel, Computer, Provider, TimeCreated and every
// EventData/UserData value by name and order.
func compareRecord(mine, theirs *xmlevent.Element) string {
	ms, ts := mine.Child("System"), theirs.Child("System")
	for _, f := range []string{"EventID", "EventRecordID", "Channel", "Computer"} {
		if a, b := strings.TrimSpace(ms.ChildText(f)), strings.TrimSpace(ts.ChildText(f)); !sameText(a, b) {
			return fmt.Sprintf("System/%s: ours %q, evtxexport %q", f, a, b)
		}
	}
	if a, b := ms.Child("Provider").Attr("Name"), ts.Child("Provider").Attr("Name"); a != b {
		return fmt.Sprintf("System/Provider: ours %q, evtxexport %q", a, b)
	}
	if a, b := ms.Child("TimeCreated").Attr("SystemTime"), ts.Child("TimeCreated").Attr("SystemTime"); !sameText(a, b) {
		return fmt.Sprintf("System/TimeCreated: ours %q, evtxexport %q", a, b)
	}
	mf, tf := xmlevent.Fields(mine), xmlevent.Fields(theirs)
	// An empty <Binary/> after the data items: evtxexport leaves it out.
	if n := len(mf.Order); n > 0 && mf.Order[n-1] == "Binary" && mf.Values["Binary"] == "" && len(tf.Order) == n-1 {
		mf.Order = mf.Order[:n-1]
	}
	if len(mf.Order) != len(tf.Order) {
		return fmt.Sprintf("fields: ours %v, evtxexport %v", mf.Order, tf.Order)
	}
	for i, k := range mf.Order {
		if tf.Order[i] != k || !sameText(mf.Values[k], tf.Values[k]) {
			return fmt.Sprintf("field %d: ours %s=%q, evtxexport %s=%q", i, k, mf.Values[k], tf.Order[i], tf.Values[tf.Order[i]])
		}
	}
	return ""
}

// TestCorpusAgainstLibevtx decodes every record of every chunk of every corpus EVTX
// file and compares it with what libyal's evtxexport makes of the same file. It
// skips when evtxexport is not installed (.ci/run installs libevtx-utils).
func TestCorpusAgainstLibevtx(t *testing.T) {
	bin, err := exec.LookPath("evtxexport")
	if err != nil {
		t.Skip("evtxexport (Debian libevtx-utils) not installed; skipping the comparison with libevtx")
	}
	files := corpusFiles(t)
	var total, agree, failed, nonTemplated int
	root := corpusDir(t)
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		rel, _ := filepath.Rel(root, path)
		theirs := exported(t, bin, path)
		fileNT, fileRecs, fileBad := 0, 0, 0
		for _, off := range chunkOffsets(data) {
			chunk := data[off : off+chunkSize]
			ids, roffs := recordOffsets(chunk)
			for i, roff := range roffs {
				fileRecs++
				total++
				if !IsTemplated(chunk, roff) {
					fileNT++
				}
				ev, err := ParseRecord(chunk, roff)
				if err != nil {
					failed++
					fileBad++
					if fileBad <= 3 {
						t.Errorf("%s chunk @0x%x record %d: %v", rel, off, ids[i], err)
					}
					continue
				}
				recID, _ := strconv.ParseUint(ev.Child("System").ChildText("EventRecordID"), 10, 64)
				other, ok := theirs[recID]
				if !ok {
					fileBad++
					if fileBad <= 3 {
						t.Errorf("%s chunk @0x%x record %d: evtxexport did not export EventRecordID %d", rel, off, ids[i], recID)
					}
					continue
				}
				if why := compareRecord(ev, other); why != "" {
					fileBad++
					if fileBad <= 3 {
						t.Errorf("%s chunk @0x%x record %d: %s", rel, off, ids[i], why)
					}
					continue
				}
				agree++
			}
		}
		nonTemplated += fileNT
		t.Logf("%s: %d records, %d non-templated, %d disagree", rel, fileRecs, fileNT, fileBad)
	}
	t.Logf("corpus: %d files, %d records compared, %d agree with evtxexport, %d parse errors, %d non-templated records",
		len(files), total, agree, failed, nonTemplated)
	if total == 0 {
		t.Fatal("no records found in the corpus")
	}
}
