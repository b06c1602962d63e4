package engine

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/tables/tablekit"
)

func TestGlob(t *testing.T) {
	p := func(s string) sigma.Pattern {
		var out sigma.Pattern
		lit := ""
		for _, c := range s {
			if c == '*' || c == '?' {
				if lit != "" {
					out = append(out, sigma.Part{Lit: lit})
					lit = ""
				}
				out = append(out, sigma.Part{Wild: byte(c)})
				continue
			}
			lit += string(c)
		}
		if lit != "" {
			out = append(out, sigma.Part{Lit: lit})
		}
		return out
	}
	cases := []struct {
		pat   string
		cased bool
		s     string
		want  bool
	}{
		{"*", false, "", true},
		{"", false, "", true},
		{"", false, "x", false},
		{"abc", false, "ABC", true},
		{"abc", true, "ABC", false},
		{"ab*", false, "ABxyz", true},
		{"*yz", false, "ABxYZ", true},
		{"*x*", false, "aXb", true},
		{"a*z", false, "az", true},
		{"ab*bc", false, "abc", false}, // prefix and suffix may not overlap
		{"a?c", false, "abc", true},
		{"a?c", false, "ac", false},
		{"a?c", false, "a\u00e9c", true}, // ? is one character, not one byte
		{"*a?c*", false, "xxa\u2013cyy", true},
		{"*a*b*c", false, "aXbXcXc", true},
		{"*a*b*c", false, "aXbXcX", false},
		{"\u00c9*", false, "\u00e9t\u00e9", false}, // only ASCII letters fold, as in SQLite
		{"?", false, "", false},
		{"*?*?*", false, "ab", true},
		{"*?*?*", false, "a", false},
	}
	for _, c := range cases {
		g := compileGlob(p(c.pat), c.cased)
		s := c.s
		if !c.cased {
			s = lowerASCII(s)
		}
		if got := g.match(s); got != c.want {
			t.Errorf("%q (cased %v) on %q: %v, want %v", c.pat, c.cased, c.s, got, c.want)
		}
	}
}

func TestRegexNeed(t *testing.T) {
	cases := []struct {
		re   string
		want []string // nil: no need found
	}{
		{`invoke-[eE]xpression`, []string{"invoke-expression"}},
		{`(?:iex|invoke-expression)\s*\(`, []string{"ex", "nvoke-expression"}}, // RE2 factors out the i
		{`[kK]ey`, []string{"key"}},                                            // the class holds K and k only (a fold-case k would also take the Kelvin sign)
		{`[iI][eE][xX].*`, []string{"iex"}},
		{`a*b`, []string{"b"}},
		{`(?:abc)?`, nil},
		{`\d+`, nil},
		{`(?:foo|\d)`, nil},
		{`x{2,}yy`, []string{"yy"}},
	}
	for _, c := range cases {
		got, ok := regexNeed(c.re)
		if !ok {
			got = nil
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.re, got, c.want)
		}
	}
}

// rule compiles one rule text (its detection below a process_creation header).
func compileRule(t testing.TB, detection string) *sigma.Query {
	t.Helper()
	r, err := sigma.ParseRule("t.yml", []byte("title: t\nid: 1\nlevel: high\ntags: [attack.t1059]\n"+
		"logsource: {category: process_creation, product: windows}\ndetection:\n"+detection))
	if err != nil {
		t.Fatal(err)
	}
	q, err := sigma.Convert(r)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

var testSchema = map[string][]table.ColumnDefinition{sigma.ProcessCreationTable: {
	table.BigIntColumn("pid"), table.TextColumn("image"), table.TextColumn("cmdline"), table.TextColumn("parent_image"),
	table.TextColumn("parent_cmdline"), table.TextColumn("user"), table.TextColumn("md5"), table.TextColumn("sha1"),
	table.TextColumn("sha256"), table.TextColumn("imphash"), table.TextColumn("original_file_name"),
	table.TextColumn("terminal_session_id"), table.TextColumn("evidence"),
}}

// TestSemantics checks the engine against the SQL conversion on hand-made rows, for
// the modifiers and NULL cases the corpus has few of.
func TestSemantics(t *testing.T) {
	rows := []map[string]string{
		{"pid": "4", "image": `C:\Windows\System32\cmd.exe`, "cmdline": `cmd /c whoami`, "parent_image": `C:\x\CMD.EXE`,
			"parent_cmdline": "", "user": `CORP\bob`, "md5": "ABCDEF", "terminal_session_id": "1", "evidence": "1"},
		{"pid": "x", "image": `C:\Tools\ps.exe`, "cmdline": "powershell \u2013enc SQBFAFgA 10.1.2.3", "parent_image": `C:\Tools\ps.exe`,
			"user": "", "md5": "", "terminal_session_id": "", "evidence": "2"},
		{"image": "", "cmdline": `C:\Windows\System32\cmd.exe /c`, "parent_cmdline": "cmd", "evidence": "3"},
		{"pid": "12", "image": `C:\A\b.exe`, "cmdline": `c:\a\B.EXE -X`, "parent_cmdline": "-x", "parent_image": `x\B.exe`,
			"user": "u", "evidence": "4"},
	}
	detections := []string{
		"  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel",
		"  sel: {Image|endswith|cased: '\\cmd.exe'}\n  condition: sel",
		"  sel: {CommandLine|windash|contains: ' -enc '}\n  condition: sel",
		"  sel: {CommandLine|base64offset|contains: 'IEX'}\n  condition: sel",
		"  sel: {CommandLine|cidr: '10.0.0.0/8'}\n  condition: sel",
		"  sel: {CommandLine|re: '(?i)WHO[a-z]+'}\n  condition: sel",
		"  sel: {CommandLine|re: 'who'}\n  condition: sel",
		"  sel: {User: null}\n  condition: sel",
		"  sel: {ProcessId: null}\n  condition: sel",
		"  sel: {ProcessId: 4}\n  condition: sel",
		"  sel: {ProcessId|gt: 3}\n  condition: sel",
		"  sel: {TerminalSessionId: 1}\n  condition: sel",
		"  sel: {TerminalSessionId|lt: 5}\n  condition: sel",
		"  sel: {User|exists: true}\n  condition: sel",
		"  sel: {User|exists: false}\n  condition: sel",
		"  sel: {ProcessId|exists: false}\n  condition: sel",
		"  sel: {ParentImage|fieldref: Image}\n  condition: sel",
		"  sel: {ParentImage|fieldref|cased: Image}\n  condition: sel",
		"  sel: {CommandLine|fieldref: ParentCommandLine}\n  condition: sel",
		"  sel: {CommandLine|fieldref|startswith: Image}\n  condition: sel",
		"  sel: {CommandLine|contains|fieldref: ParentCommandLine}\n  condition: sel",
		"  sel: {CommandLine|fieldref|endswith: ParentCommandLine}\n  condition: sel",
		"  sel: {ParentImage|fieldref|endswith|cased: Image}\n  condition: sel",
		"  sel: {Hashes|contains: 'MD5=abc'}\n  condition: sel",
		"  sel: {Hashes: 'ABCDEF'}\n  condition: sel",
		"  sel: {CommandLine|contains|all: ['cmd', 'who']}\n  condition: sel",
		"  sel: {CommandLine: 'c?d*'}\n  condition: sel",
		"  a: {Image|endswith: 'cmd.exe'}\n  b: {User|startswith: 'CORP'}\n  condition: a and not b",
		"  a: {Image|endswith: 'cmd.exe'}\n  b: {User|startswith: 'CORP'}\n  condition: not a",
		"  sel_a: {Image|contains: 'Tools'}\n  sel_b: {CommandLine|contains: 'whoami'}\n  condition: 1 of sel_*",
		"  sel_a: {Image|contains: 'Tools'}\n  sel_b: {CommandLine|contains: 'powershell'}\n  condition: all of sel_*",
		"  sel: {}\n  condition: sel",
		"  sel: {CommandLine|contains: ''}\n  condition: sel",
	}
	// The SQL side runs over the same rows through the offline SQL engine.
	tbl := tablekit.Table{Name: sigma.ProcessCreationTable, Columns: testSchema[sigma.ProcessCreationTable],
		Generate: func(context.Context, table.QueryContext) ([]map[string]string, error) { return rows, nil }}
	sq, err := sqlengine.Open([]tablekit.Table{tbl}, sqlengine.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	for _, d := range detections {
		q := compileRule(t, d)
		e, skipped := New([]*sigma.Query{q}, testSchema)
		if len(skipped) > 0 {
			t.Fatalf("%s: skipped: %s", d, skipped[0].Reason)
		}
		m := e.Matcher(sigma.ProcessCreationTable)
		var got []string
		for _, row := range rows {
			if len(m.Match(row)) > 0 {
				got = append(got, row["evidence"])
			}
		}
		res, err := sq.Query(context.Background(), "SELECT evidence FROM process_creation_events WHERE "+q.Plan.SQL())
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		var want []string
		for res.Next() {
			want = append(want, res.Values()[0].(string))
		}
		res.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s\nSQL %s\nengine %q, SQL %q", d, q.Plan.SQL(), got, want)
		}
	}
}
