package corpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Expected holds the manifest's event counts for one evidence file, keyed by
// "Provider/EventID" as the manifest writes them ("Sysmon/1", "Security-Auditing/4688",
// "PowerShell/4104", "Linux-Sysmon/1"). Other is the manifest's "other=N" bucket (the
// small counts it did not list one by one); Exact is false when such a bucket exists.
type Expected struct {
	File   string
	Counts map[string]int
	Other  int
	Exact  bool
}

var countRe = regexp.MustCompile(`([A-Za-z-]+/\d+|other)=(\d+)`)

// Manifest reads MANIFEST.md and returns the expected counts per evidence file (path
// relative to the corpus directory). Rule folders of the SigmaHQ table expand to every
// .evtx and .json file inside them (each holds the same single event).
func Manifest(dir string) ([]Expected, error) {
	f, err := os.Open(filepath.Join(dir, "MANIFEST.md"))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	var out []Expected
	var header []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "|") {
			header = nil
			continue
		}
		if strings.Trim(line, "|- ") == "" {
			continue // the header's separator row
		}
		cells := splitRow(line)
		if header == nil {
			header = cells
			continue
		}
		rows, err := expand(dir, header, cells)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, sc.Err()
}

func splitRow(line string) []string {
	line = strings.Trim(strings.TrimSpace(line), "|")
	parts := strings.Split(line, " | ")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func column(header []string, prefix string) int {
	for i, h := range header {
		if strings.HasPrefix(h, prefix) {
			return i
		}
	}
	return -1
}

// expand turns one table row into expectations for the files it names.
func expand(dir string, header, cells []string) ([]Expected, error) {
	get := func(i int) string {
		if i < 0 || i >= len(cells) {
			return ""
		}
		return cells[i]
	}
	switch {
	case column(header, "rule folder") == 0: // SigmaHQ regression data: one event per file
		folder := get(0)
		exp := parseCounts(get(column(header, "event")))
		var out []Expected
		for _, name := range strings.Split(get(column(header, "files")), ", ") {
			if ext := filepath.Ext(name); ext == ".evtx" || ext == ".json" {
				e := exp
				e.File = filepath.Join("SigmaHQ_sigma", "regression_data", folder, name)
				out = append(out, e)
			}
		}
		return out, nil
	case column(header, "Sysmon/1") >= 0: // benign additions: one column per kind
		if f := get(column(header, "fmt")); f != "evtx" && f != "json" {
			return nil, nil
		}
		e := Expected{File: get(0), Counts: map[string]int{}, Exact: true}
		for col, key := range map[string]string{"Sysmon/1": "Sysmon/1", "4688": "Security-Auditing/4688", "4104": "PowerShell/4104"} {
			n, err := strconv.Atoi(get(column(header, col)))
			if err != nil {
				return nil, fmt.Errorf("manifest row %q: column %s: %w", get(0), col, err)
			}
			e.Counts[key] = n
		}
		return []Expected{e}, nil
	case column(header, "file") == 0 && column(header, "events by provider") >= 0:
		if f := get(column(header, "fmt")); f != "evtx" && f != "json" {
			return nil, nil
		}
		e := parseCounts(get(column(header, "events by provider")))
		e.File = get(0)
		return []Expected{e}, nil
	}
	return nil, nil
}

func parseCounts(s string) Expected {
	e := Expected{Counts: map[string]int{}, Exact: true}
	for _, m := range countRe.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "other" {
			e.Other, e.Exact = n, false
			continue
		}
		e.Counts[m[1]] = n
	}
	return e
}
