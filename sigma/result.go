package sigma

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Skipped is a rule that was not converted, with the reason.
type Skipped struct {
	File   string `json:"file"`
	RuleID string `json:"id,omitempty"`
	Title  string `json:"title,omitempty"`
	// Logsource is "category/product" (empty when the file did not parse).
	Logsource string `json:"logsource,omitempty"`
	Reason    string `json:"reason"`
	// Unsupported is true for a rule that cannot be expressed over the tables; false
	// for a file that is not a valid rule.
	Unsupported bool `json:"unsupported"`
}

// Result is the outcome of converting a set of rule files.
type Result struct {
	Queries []*Query
	Skipped []Skipped
}

// InScope reports whether a logsource is one the converter targets (so its failures
// count against the conversion rate).
func InScope(ls Logsource) bool {
	_, err := targetFor(ls)
	return err == nil
}

// ConvertPaths converts the rules in paths: *.yml and *.yaml files, and folders read
// recursively. Files that are not rules and rules that cannot be expressed are in
// Result.Skipped with the reason. Two rules that would get the same query name in one
// pack are told apart by the rule id. The error is for paths that cannot be read.
func ConvertPaths(paths ...string) (*Result, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := strings.ToLower(filepath.Ext(f)); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
				files = append(files, f)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	res := &Result{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r, err := ParseRule(f, data)
		if err != nil {
			res.Skipped = append(res.Skipped, Skipped{File: f, Reason: err.Error()})
			continue
		}
		res.Add(r)
	}
	return res, nil
}

// Add converts one parsed rule into the result.
func (res *Result) Add(r *Rule) {
	q, err := Convert(r)
	if err != nil {
		res.Skipped = append(res.Skipped, Skipped{
			File: r.File, RuleID: r.ID, Title: r.Title,
			Logsource: r.Logsource.Category + "/" + r.Logsource.Product,
			Reason:    err.Error(), Unsupported: IsUnsupported(err),
		})
		return
	}
	for _, o := range res.Queries {
		if o.Pack == q.Pack && o.Name == q.Name {
			q.Name += "_" + strings.SplitN(r.ID, "-", 2)[0]
			break
		}
	}
	res.Queries = append(res.Queries, q)
}

// Summary counts the result: rules converted, unsupported (in the targeted
// logsources), out of scope (other logsources) and invalid files.
type Summary struct {
	Converted, Unsupported, OutOfScope, Invalid int
}

// Summary counts the result.
func (res *Result) Summary() Summary {
	s := Summary{Converted: len(res.Queries)}
	for _, k := range res.Skipped {
		switch {
		case !k.Unsupported:
			s.Invalid++
		case strings.HasPrefix(k.Reason, "logsource "):
			s.OutOfScope++
		default:
			s.Unsupported++
		}
	}
	return s
}

func (s Summary) String() string {
	total := s.Converted + s.Unsupported
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(s.Converted) / float64(total)
	}
	return fmt.Sprintf("%d of %d rules converted (%.1f%%), %d unsupported, %d of other logsources, %d invalid",
		s.Converted, total, pct, s.Unsupported, s.OutOfScope, s.Invalid)
}

// BatchSQL returns, per table, one query that evaluates all the given rules in a
// single pass over the table: each row that matches at least one rule, with the
// names of the rules it matched in sigma_rules ("name1,name2,"). It gives the same
// matches as the rules' own queries, and reads the table once instead of once per
// rule.
func BatchSQL(qs []*Query) map[string]string {
	byTable := map[string][]*Query{}
	for _, q := range qs {
		byTable[q.Table] = append(byTable[q.Table], q)
	}
	out := map[string]string{}
	for table, list := range byTable {
		t := tableTargets[table]
		var parts []string
		for _, q := range list {
			parts = append(parts, fmt.Sprintf("(CASE WHEN %s THEN %s ELSE '' END)", q.where, sqlString(q.Name+",")))
		}
		out[table] = fmt.Sprintf("SELECT %s, %s AS sigma_rules FROM %s WHERE sigma_rules != '';", t.selectList(), group(parts, " || "), table)
	}
	return out
}
