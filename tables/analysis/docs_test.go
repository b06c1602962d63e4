package analysis

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the tag table of docs/indicators.md from Tags()")

const indicatorsDoc = "../../docs/indicators.md"

// Markers around the generated table in docs/indicators.md.
const (
	tableBegin = "<!-- tags:begin -->"
	tableEnd   = "<!-- tags:end -->"
)

func renderTagTable() string {
	var b strings.Builder
	b.WriteString("| tag | weight | technique | class | meaning |\n|---|---:|---|---|---|\n")
	for _, t := range Tags() {
		class := t.Class
		if t.Class == ClassWeak && t.Kind != t.Name {
			class += " (" + t.Kind + ")"
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s |\n", t.Name, t.Weight, t.Technique, class, strings.ReplaceAll(t.Description, "|", `\|`))
	}
	return b.String()
}

// TestIndicatorsDocMatchesTags checks that docs/indicators.md documents every
// tag with its weight and technique, and no tag that no longer exists.
func TestIndicatorsDocMatchesTags(t *testing.T) {
	path := filepath.FromSlash(indicatorsDoc)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	doc := string(raw)
	if *updateDocs {
		i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
		if i < 0 || j < i {
			t.Fatalf("%s: missing %s ... %s markers", path, tableBegin, tableEnd)
		}
		doc = doc[:i+len(tableBegin)] + "\n" + renderTagTable() + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	documented := map[string][2]string{} // name → weight, technique
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if _, dup := documented[name]; dup {
			t.Errorf("%s: tag %q documented twice", path, name)
		}
		documented[name] = [2]string{strings.TrimSpace(cells[2]), strings.TrimSpace(cells[3])}
	}
	for _, tag := range Tags() {
		d, ok := documented[tag.Name]
		if !ok {
			t.Errorf("%s: tag %q is not documented (run go test -run TestIndicatorsDoc -update-docs)", path, tag.Name)
			continue
		}
		if d[0] != strconv.Itoa(tag.Weight) || d[1] != tag.Technique {
			t.Errorf("%s: tag %q documented as weight %s, %s; code says %d, %s", path, tag.Name, d[0], d[1], tag.Weight, tag.Technique)
		}
		delete(documented, tag.Name)
	}
	for name := range documented {
		t.Errorf("%s: documents tag %q, which the code does not have", path, name)
	}
}

func TestTagsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, tag := range Tags() {
		if seen[tag.Name] {
			t.Errorf("duplicate tag %q", tag.Name)
		}
		seen[tag.Name] = true
		if tag.Name != strings.ToLower(tag.Name) || strings.ContainsAny(tag.Name, " ,-") {
			t.Errorf("tag %q: names are lower_snake_case", tag.Name)
		}
		if tag.Weight < -100 || tag.Weight > 100 || tag.Description == "" || tag.Technique == "" {
			t.Errorf("tag %q: weight %d, technique %q, description %q", tag.Name, tag.Weight, tag.Technique, tag.Description)
		}
	}
}
