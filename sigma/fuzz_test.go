package sigma

import "testing"

// FuzzParseRuleConvert feeds arbitrary YAML to ParseRule and converts what it
// accepts: neither panics, and a converted rule has SQL.
func FuzzParseRuleConvert(f *testing.F) {
	head := "title: t\nid: 00000000-1111-2222-3333-444444444444\nstatus: test\nlevel: high\n" +
		"tags: [attack.execution, attack.t1059.001]\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
	for _, d := range []string{
		"  sel: {OriginalFileName: 'powershell.exe'}\n  condition: sel",
		"  sel: {CommandLine|contains|all: ['-enc', 'hidden']}\n  filter: {User|startswith: 'NT AUTHORITY'}\n  condition: sel and not filter",
		"  sel: {CommandLine|base64offset|contains: 'http'}\n  condition: sel",
		"  sel: {CommandLine|windash|contains: ' -e '}\n  condition: 1 of sel*",
		"  sel: {CommandLine|re: '(?i)iex\\s*\\('}\n  condition: all of them",
		"  sel: {ParentImage|fieldref: Image}\n  condition: sel",
		"  sel: {CommandLine|cidr: '10.0.0.0/8'}\n  condition: sel",
		"  sel:\n    - Image|endswith: '\\cmd.exe'\n    - Image|endswith: '\\pwsh.exe'\n  condition: (sel or sel) and not (sel)",
		"  keywords: ['mimikatz', 'sekurlsa']\n  condition: keywords",
	} {
		f.Add([]byte(head + d))
	}
	f.Add([]byte("title: ps\nlogsource: {category: ps_script, product: windows}\ndetection:\n  sel: {ScriptBlockText|contains: 'AmsiUtils'}\n  condition: sel\n"))
	f.Add([]byte("title: c\ncorrelation: {type: event_count}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRule("fuzz.yml", data)
		if err != nil {
			return
		}
		q, err := Convert(r)
		if err != nil {
			return
		}
		if q == nil {
			t.Fatal("Convert returned neither a query nor an error")
		}
	})
}
