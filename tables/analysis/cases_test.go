package analysis

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixtureCase is one line of testdata/analysis/cases.tsv.
type fixtureCase struct {
	name, kind, text string
	proc             Process
	script           Script
	want, not        []string
	score            string // ">=N", "<N" or ""
}

const casesFile = "../../testdata/analysis/cases.tsv"

func loadCases(t testing.TB) []fixtureCase {
	t.Helper()
	f, err := os.Open(filepath.FromSlash(casesFile))
	if err != nil {
		t.Fatalf("open fixtures: %v", err)
	}
	defer f.Close()
	var cases []fixtureCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 7 {
			t.Fatalf("%s:%d: %d columns, want 7", casesFile, n, len(cols))
		}
		c := fixtureCase{name: cols[0], kind: cols[1], text: strings.NewReplacer("\u23ce", "\n", "\u21e5", "\t").Replace(cols[3]),
			want: splitTags(cols[4]), not: splitTags(cols[5]), score: cols[6]}
		for _, kv := range strings.Split(cols[2], ";") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "image":
				c.proc.Image = v
			case "parent":
				c.proc.ParentImage = v
			case "ofn":
				c.proc.OriginalFileName = v
			case "desc":
				c.proc.Description = v
			case "parent_cmdline":
				c.proc.ParentCmdline = v
			case "path":
				c.script.Path = v
			case "parent_score":
				score, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("%s:%d: parent_score %q: %v", casesFile, n, v, err)
				}
				c.proc.ParentScore = score
			case "":
			default:
				t.Fatalf("%s:%d: unknown context key %q", casesFile, n, k)
			}
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func splitTags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (c fixtureCase) run() Result {
	if c.kind == "script" {
		return AnalyzeScript(c.text, c.script)
	}
	return AnalyzeCommandLine(c.text, c.proc)
}

// TestFixtures runs every hand-written case: wanted tags present, must-not
// tags absent, score on the right side of its bound.
func TestFixtures(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := c.run()
			got := map[string]bool{}
			for _, tag := range r.Indicators {
				got[tag] = true
			}
			for _, w := range c.want {
				if !got[w] {
					t.Errorf("missing tag %s; got %v (score %d)", w, r.Indicators, r.Score)
				}
			}
			for _, n := range c.not {
				if got[n] {
					t.Errorf("unwanted tag %s; got %v (score %d)", n, r.Indicators, r.Score)
				}
			}
			if c.score != "" && !scoreOK(r.Score, c.score) {
				t.Errorf("score %d, want %s; tags %v", r.Score, c.score, r.Indicators)
			}
			if got[tagAnalysisError] {
				t.Errorf("analysis_error on a fixture")
			}
		})
	}
}

func scoreOK(score int, bound string) bool {
	switch {
	case strings.HasPrefix(bound, ">="):
		n, _ := strconv.Atoi(bound[2:])
		return score >= n
	case strings.HasPrefix(bound, "<"):
		n, _ := strconv.Atoi(bound[1:])
		return score < n
	}
	return false
}

// TestFixturesCoverEveryTag requires a positive and a near-miss negative
// fixture for every tag that fixtures can reach.
func TestFixturesCoverEveryTag(t *testing.T) {
	pos, neg := map[string]bool{}, map[string]bool{}
	for _, c := range loadCases(t) {
		for _, w := range c.want {
			pos[w] = true
		}
		for _, n := range c.not {
			neg[n] = true
		}
	}
	for _, tag := range Tags() {
		switch tag.Name {
		case tagAnalysisError, tagInputTruncated:
			continue // covered by TestPanicRecovered and the hostile-input tests
		}
		if !pos[tag.Name] {
			t.Errorf("tag %s has no positive fixture", tag.Name)
		}
		if !neg[tag.Name] {
			t.Errorf("tag %s has no near-miss negative fixture", tag.Name)
		}
	}
	for name := range pos {
		if _, ok := tagIndex[name]; !ok {
			t.Errorf("fixtures want unknown tag %s", name)
		}
	}
}
