package engine

import (
	"slices"
	"testing"

	"github.com/exechunt/exechunt/sigma"
)

// FuzzEngine compiles arbitrary rules and evaluates them over arbitrary rows:
// neither panics, and the prefilter never drops a rule that matches (the rules it
// selects give the same matches as evaluating every rule).
func FuzzEngine(f *testing.F) {
	for _, d := range []string{
		"  sel: {CommandLine|contains|all: ['-enc', 'hidden']}\n  filter: {User|startswith: 'NT AUTHORITY'}\n  condition: sel and not filter",
		"  sel: {CommandLine|base64offset|contains: 'http'}\n  condition: sel",
		"  sel: {CommandLine|windash|contains: ' -e '}\n  condition: 1 of sel*",
		"  sel: {CommandLine|re: '(?i)iex\\s*\\('}\n  condition: all of them",
		"  sel: {CommandLine|re: '(?:ab|cd)+x{2,}[kK]'}\n  condition: sel",
		"  sel: {ParentImage|fieldref: Image}\n  condition: sel",
		"  sel: {CommandLine|cidr: '10.0.0.0/13'}\n  condition: sel",
		"  sel: {CommandLine: 'a?c*x*'}\n  condition: sel",
		"  sel: {Hashes|contains: ['MD5=ab', 'x']}\n  condition: not sel",
		"  sel: {ProcessId|gte: 4}\n  n: {User: null}\n  condition: sel or n",
		"  sel: {CommandLine|re: '.{10,}'}\n  r: {Image|re: '\\+.*\\+'}\n  condition: sel or r",
	} {
		f.Add(d, `powershell -enc SQBFAFgA iex ( 10.1.2.3`, `C:\Windows\cmd.exe`, "4")
	}
	f.Fuzz(func(t *testing.T, detection, cmdline, image, pid string) {
		r, err := sigma.ParseRule("fuzz.yml", []byte("title: t\nlogsource: {category: process_creation, product: windows}\ndetection:\n"+detection))
		if err != nil {
			return
		}
		q, err := sigma.Convert(r)
		if err != nil {
			return
		}
		e, skipped := New([]*sigma.Query{q, q}, testSchema)
		if len(skipped) > 0 {
			return
		}
		m := e.Matcher(sigma.ProcessCreationTable)
		row := map[string]string{"cmdline": cmdline, "image": image, "parent_image": cmdline, "pid": pid, "user": image, "md5": cmdline}
		got := slices.Clone(m.Match(row))
		var all []int
		for i := range m.t.rules {
			if m.evalRule(&m.t.rules[i]) {
				all = append(all, m.t.rules[i].global)
			}
		}
		if !slices.Equal(got, all) {
			t.Fatalf("prefilter: matches %v, every rule evaluated %v", got, all)
		}
		// A regex's own guards (literals, length) never turn a match into a miss.
		for id := range m.t.preds {
			p := &m.t.preds[id]
			if p.p.Kind != sigma.PredRegex || m.vals[p.col].null {
				continue
			}
			v := &m.vals[p.col]
			subject := v.text
			if p.p.Lower {
				subject = v.lowered()
			}
			if want := p.rx.re.MatchString(subject); m.evalPred(id) != want {
				t.Fatalf("regex %q on %q: guarded %v, plain %v", p.p.Text, subject, !want, want)
			}
		}
	})
}
