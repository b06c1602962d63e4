package report

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/scan"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), as GitHub code
// scanning reads it: one rule per pack query, one result per finding, located at the
// evidence file (and its line for line-based formats).

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifMessage   `json:"shortDescription"`
	FullDescription      sarifMessage   `json:"fullDescription"`
	Help                 sarifMessage   `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []any             `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifWriter struct {
	out   *bufio.Writer
	index map[string]int
	n     int
	cwd   string
}

// sarifLevel maps a pack severity to a SARIF level.
func sarifLevel(sev string) string {
	switch sev {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub's numeric "security-severity" of a pack severity.
func securitySeverity(sev string) string {
	switch sev {
	case "critical":
		return "9.5"
	case "high":
		return "8.0"
	case "medium":
		return "5.5"
	case "low":
		return "3.0"
	}
	return "1.0"
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func newSARIFWriter(out *bufio.Writer, queries []scan.Query, version string) (*sarifWriter, error) {
	w := &sarifWriter{out: out, index: map[string]int{}}
	w.cwd, _ = os.Getwd()
	rules := make([]sarifRule, 0, len(queries))
	for _, sq := range queries {
		id := sq.ID()
		if _, dup := w.index[id]; dup {
			continue
		}
		w.index[id] = len(rules)
		desc := sq.Description
		if desc == "" {
			desc = id
		}
		tags := []string{"security", "execution"}
		if sq.Technique != "" {
			tags = append(tags, "external/mitre-attack/"+sq.Technique)
		}
		rules = append(rules, sarifRule{
			ID: id, Name: sq.Name,
			ShortDescription:     sarifMessage{firstSentence(desc)},
			FullDescription:      sarifMessage{desc},
			Help:                 sarifMessage{desc + "\n\nQuery: " + sq.SQL},
			DefaultConfiguration: map[string]any{"level": sarifLevel(sq.Severity)},
			Properties: map[string]any{
				"tags": tags, "technique": sq.Technique, "severity": sq.Severity,
				"security-severity": securitySeverity(sq.Severity), "stack": sq.Stack,
			},
		})
	}
	driver := map[string]any{
		"name": "exechunt", "version": version, "semanticVersion": strings.TrimPrefix(version, "v"),
		"informationUri": "https://github.com/exechunt/exechunt", "rules": rules,
	}
	if !isSemver(driver["semanticVersion"].(string)) {
		delete(driver, "semanticVersion")
	}
	head, err := finding.MarshalNoEscape(map[string]any{"tool": map[string]any{"driver": driver}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "{\"$schema\":%q,\"version\":\"2.1.0\",\"runs\":[", sarifSchema)
	out.Write(head[:len(head)-1]) // the run object, left open for its results
	out.WriteString(`,"results":[`)
	return w, nil
}

func isSemver(v string) bool {
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}

// artifactURI is the evidence file as a URI reference: relative to the working
// directory (as code scanning expects paths in the repository) when it is inside it,
// else a file:// URI.
func (w *sarifWriter) artifactURI(file string) string {
	if file == "" {
		return ""
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	if w.cwd != "" {
		if rel, err := filepath.Rel(w.cwd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return (&url.URL{Path: filepath.ToSlash(rel)}).String()
		}
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x → /C:/x
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// lineOf returns the line of a "line N" locator (JSON lines, syslog), else 1.
func lineOf(locator string) int {
	if rest, ok := strings.CutPrefix(locator, "line "); ok {
		if n, err := strconv.Atoi(strings.Fields(rest + " ")[0]); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

func (w *sarifWriter) Write(fd *finding.Finding) error {
	id := fd.Pack + "/" + fd.Query
	msg := fmt.Sprintf("%s (%s, %s): %s", fd.Query, orDash(fd.Technique), orDash(fd.Severity), Summary(fd, 400))
	res := sarifResult{
		RuleID: id, RuleIndex: w.index[id], Level: sarifLevel(fd.Severity),
		Message:    sarifMessage{msg},
		Locations:  []any{},
		Properties: map[string]any{"row": fd.Row, "evidence": fd.Evidence},
	}
	if uri := w.artifactURI(fd.Evidence.File); uri != "" {
		loc := map[string]any{
			"physicalLocation": map[string]any{
				"artifactLocation": map[string]any{"uri": uri},
				"region":           map[string]any{"startLine": lineOf(fd.Evidence.Locator)},
			},
		}
		if fd.Evidence.Locator != "" {
			loc["message"] = sarifMessage{fd.Evidence.Locator}
		}
		res.Locations = append(res.Locations, loc)
	}
	res.PartialFingerprints = map[string]string{"exechuntEvidence/v1": fmt.Sprintf("%s|%s|%v", id, fd.Evidence.File, fd.Evidence.EventRecordIDs)}
	b, err := finding.MarshalNoEscape(res)
	if err != nil {
		return err
	}
	if w.n > 0 {
		w.out.WriteString(",")
	}
	w.n++
	w.out.WriteString("\n")
	_, err = w.out.Write(b)
	return err
}

func (w *sarifWriter) Close() error {
	w.out.WriteString("\n]}]}\n")
	return w.out.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
