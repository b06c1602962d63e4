package binxml

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/evtx"

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

type pair struct {
	key string
	val any
}

// veloValue unwraps an element rendered by Velocidex as {"Qualifiers":…, "Value":…}.
func veloValue(v any) any {
	if d, ok := v.(*ordereddict.Dict); ok {
		if x, ok := d.Get("Value"); ok {
			return x
		}
		return nil
	}
	return v
}

func dictGet(v any, path ...string) any {
	for _, k := range path {
		d, ok := v.(*ordereddict.Dict)
		if !ok {
			return nil
		}
		v, _ = d.Get(k)
	}
	return v
}

// veloPairs flattens Velocidex's EventData into (name, value) pairs: the normalised
// form {name: value}, or the raw {"Data": [{"Name":…, "Value":…}, …]} it keeps when
// a value is null or there is a single Data element. Arrays become repeated pairs.
func veloPairs(ed any) []pair {
	d, ok := ed.(*ordereddict.Dict)
	if !ok {
		if ed == nil {
			return nil
		}
		return []pair{{"", ed}}
	}
	var out []pair
	add := func(k string, v any) {
		rv := reflect.ValueOf(v)
		if v != nil && rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
			for i := 0; i < rv.Len(); i++ {
				out = append(out, pair{k, rv.Index(i).Interface()})
			}
			return
		}
		out = append(out, pair{k, v})
	}
	for _, k := range d.Keys() {
		v, _ := d.Get(k)
		if k != "Data" {
			add(k, v)
			continue
		}
		items, ok := v.([]any)
		if !ok {
			items = []any{v}
		}
		for _, it := range items {
			if id, ok := it.(*ordereddict.Dict); ok {
				if name, ok := id.Get("Name"); ok {
					val, _ := id.Get("Value")
					add(fmt.Sprint(name), val)
					continue
				}
				add("Data", veloValue(id))
				continue
			}
			add("Data", it)
		}
	}
	return out
}

// minePairs flattens our EventData: each child as (Name attribute or element name, text).
func minePairs(ed *xmlevent.Element) []pair {
	if ed == nil {
		return nil
	}
	var out []pair
	for _, c := range ed.Children {
		k := c.Attr("Name")
		if k == "" {
			k = c.Name
		}
		out = append(out, pair{k, c.Text})
	}
	return out
}

// sameValue compares our rendering of a value with Velocidex's typed value, after
// normalising the representation differences:
//   - integers: Velocidex keeps numbers (HexInt32/64 too); we render decimal, or 0x… hex;
//   - binary: Velocidex keeps []byte; we render upper-case hex;
//   - FILETIME: Velocidex gives float Unix seconds; we give RFC 3339 with 7 digits;
//   - SYSTEMTIME: Velocidex gives Go's time.String() with the milliseconds taken as
//     nanoseconds; we give RFC 3339 with 7 digits;
//   - nested BinXml values: Velocidex gives a dict; only their presence is compared.
func sameValue(mine string, v any) bool {
	switch x := v.(type) {
	case nil:
		return mine == ""
	case string:
		if mine == x {
			return true
		}
		if t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", x); err == nil {
			// SYSTEMTIME: Velocidex passes the milliseconds as nanoseconds.
			m, err := time.Parse(time.RFC3339Nano, mine)
			return err == nil && m.Truncate(time.Second).Equal(t.Truncate(time.Second)) &&
				m.Nanosecond() == t.Nanosecond()*int(time.Millisecond)
		}
		return false
	case []byte:
		return mine == hexUpper(x)
	case bool:
		return mine == strconv.FormatBool(x)
	case float64:
		if t, err := time.Parse(time.RFC3339Nano, mine); err == nil {
			return math.Abs(float64(t.UnixNano())/1e9-x) < 1e-3
		}
		f, err := strconv.ParseFloat(mine, 64)
		return err == nil && f == x
	case float32:
		f, err := strconv.ParseFloat(mine, 32)
		return err == nil && float32(f) == x
	case *ordereddict.Dict:
		return true
	}
	rv := reflect.ValueOf(v)
	var want uint64
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = uint64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = rv.Uint()
	default:
		return mine == fmt.Sprint(v)
	}
	if h, ok := strings.CutPrefix(mine, "0x"); ok {
		got, err := strconv.ParseUint(h, 16, 64)
		return err == nil && got == want
	}
	if got, err := strconv.ParseUint(mine, 10, 64); err == nil {
		return got == want
	}
	got, err := strconv.ParseInt(mine, 10, 64)
	return err == nil && uint64(got) == want
}

// compareRecord returns "" when our tree agrees with Velocidex's event, else why not.
func compareRecord(ev *xmlevent.Element, velo any) string {
	sys := ev.Child("System")
	for _, f := range []string{"EventID", "EventRecordID", "Channel", "Computer"} {
		want := veloValue(dictGet(velo, "Event", "System", f))
		if !sameValue(sys.ChildText(f), want) {
			return fmt.Sprintf("System/%s: ours %q, velocidex %#v", f, sys.ChildText(f), want)
		}
	}
	var mine, theirs []pair
	for _, p := range minePairs(ev.Child("EventData")) {
		if p.val != "" {
			mine = append(mine, p)
		}
	}
	for _, p := range veloPairs(dictGet(velo, "Event", "EventData")) {
		if p.val != nil && p.val != "" {
			theirs = append(theirs, p)
		}
	}
	if len(mine) != len(theirs) {
		return fmt.Sprintf("EventData: ours %d value(s) %v, velocidex %d %v", len(mine), mine, len(theirs), theirs)
	}
	for i := range mine {
		if mine[i].key != theirs[i].key || !sameValue(mine[i].val.(string), theirs[i].val) {
			return fmt.Sprintf("EventData[%d]: ours %s=%q, velocidex %s=%#v", i, mine[i].key, mine[i].val, theirs[i].key, theirs[i].val)
		}
	}
	return ""
}

// TestCorpusAgainstVelocidex decodes every record of every chunk of every corpus
// EVTX file and compares System/EventID, EventRecordID, Channel, Computer and every
// EventData value with Velocidex's Chunk.Parse. It also logs the number of
// non-templated records per file.
func TestCorpusAgainstVelocidex(t *testing.T) {
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
		fileNT, fileRecs, fileBad := 0, 0, 0
		rd := bytes.NewReader(data)
		for _, off := range chunkOffsets(data) {
			chunk := data[off : off+chunkSize]
			vc, err := evtx.NewChunk(rd, int64(off))
			if err != nil {
				t.Errorf("%s chunk @0x%x: velocidex: %v", rel, off, err)
				continue
			}
			vrecs, _ := vc.Parse(0)
			velo := make(map[uint64]any, len(vrecs))
			for _, r := range vrecs {
				velo[r.Header.RecordID] = r.Event
			}
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
				v, ok := velo[ids[i]]
				if !ok {
					fileBad++
					if fileBad <= 3 {
						t.Errorf("%s chunk @0x%x record %d: velocidex did not return it", rel, off, ids[i])
					}
					continue
				}
				if why := compareRecord(ev, v); why != "" {
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
	t.Logf("corpus: %d files, %d records compared, %d agree with Velocidex, %d parse errors, %d non-templated records",
		len(files), total, agree, failed, nonTemplated)
	if total == 0 {
		t.Fatal("no records found in the corpus")
	}
}
