package sigma

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Query is a converted rule: one exechunt pack query.
type Query struct {
	Name        string // pack query name (the rule's file name, or its id)
	SQL         string
	Table       string
	Pack        string // pack it belongs to (one per logsource)
	Platform    string // osquery platform of the pack ("windows", "linux")
	Technique   string // first ATT&CK technique tag, e.g. T1059.001
	Techniques  []string
	Severity    string // from the rule's level
	Description string // title, description, false positives, rule id and status
	Stack       []string
	Notes       []string // approximations made (e.g. SHA1 hashes dropped from a list)
	// Plan is the compiled detection the SQL renders (and sigma/engine evaluates).
	Plan  *Plan
	where string // the WHERE expression

	RuleID string
	Title  string
	Status string
	File   string
	Level  string   // the rule's level as written
	Tags   []string // the rule's tags as written
}

// Convert turns one rule into a pack query: Compile, then the plan rendered as SQL.
// An error that IsUnsupported names a rule that cannot be expressed over the tables,
// with the reason.
func Convert(r *Rule) (*Query, error) {
	p, err := Compile(r)
	if err != nil {
		return nil, err
	}
	t := p.target
	where := p.SQL()
	q := &Query{
		Name:     queryName(r),
		SQL:      fmt.Sprintf("SELECT %s FROM %s WHERE %s;", t.selectList(), t.table, where),
		Table:    t.table,
		Pack:     packName(r.Logsource),
		Platform: t.platform,
		Severity: severity(r.Level),
		Stack:    t.stack,
		Notes:    p.Notes,
		Plan:     p,
		where:    where,
		RuleID:   r.ID, Title: r.Title, Status: r.Status, File: r.File, Level: r.Level, Tags: r.Tags,
	}
	q.Techniques = techniques(r.Tags)
	if len(q.Techniques) > 0 {
		q.Technique = q.Techniques[0]
	}
	q.Description = description(r, q.Techniques)
	return q, nil
}

func packName(ls Logsource) string {
	if strings.EqualFold(ls.Category, "ps_script") {
		return "sigma-ps-script"
	}
	return "sigma-process-creation-" + strings.ToLower(ls.Product)
}

var nonName = regexp.MustCompile(`[^a-z0-9_]+`)

func queryName(r *Rule) string {
	base := strings.TrimSuffix(filepath.Base(r.File), filepath.Ext(r.File))
	if r.File == "" || base == "" {
		base = r.Title
		if base == "" {
			base = r.ID
		}
	}
	return strings.Trim(nonName.ReplaceAllString(strings.ToLower(base), "_"), "_")
}

func severity(level string) string {
	switch strings.ToLower(level) {
	case "informational", "info":
		return "info"
	case "low", "medium", "high", "critical":
		return strings.ToLower(level)
	}
	return ""
}

var techniqueTag = regexp.MustCompile(`^attack\.(t\d{4}(\.\d{3})?)$`)

func techniques(tags []string) []string {
	var out []string
	for _, t := range tags {
		if m := techniqueTag.FindStringSubmatch(strings.ToLower(strings.TrimSpace(t))); m != nil {
			out = append(out, strings.ToUpper(m[1]))
		}
	}
	return out
}

func description(r *Rule, techs []string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(strings.TrimSpace(r.Title), "."))
	b.WriteString(".")
	if d := strings.Join(strings.Fields(r.Description), " "); d != "" {
		b.WriteString(" " + d)
		if !strings.HasSuffix(d, ".") {
			b.WriteString(".")
		}
	}
	if len(r.FalsePositives) > 0 {
		b.WriteString(" False positives: " + strings.Join(r.FalsePositives, "; "))
		if !strings.HasSuffix(b.String(), ".") {
			b.WriteString(".")
		}
	}
	if len(techs) > 1 {
		b.WriteString(" ATT&CK: " + strings.Join(techs, ", ") + ".")
	}
	fmt.Fprintf(&b, " Sigma rule %s", r.ID)
	var meta []string
	if r.Status != "" {
		meta = append(meta, "status "+r.Status)
	}
	if r.Level != "" {
		meta = append(meta, "level "+r.Level)
	}
	if r.File != "" {
		meta = append(meta, filepath.Base(r.File))
	}
	if len(meta) > 0 {
		b.WriteString(" (" + strings.Join(meta, ", ") + ")")
	}
	b.WriteString(".")
	return b.String()
}
