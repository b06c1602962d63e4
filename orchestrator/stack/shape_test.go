package stack

import (
	"testing"
	"unicode/utf8"
)

func TestShape(t *testing.T) {
	tests := []struct{ a, b string }{
		{`C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, `c:\windows\system32\svchost.exe -k netsvcs -p -s schedule`},
		{`\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, `\??\C:\Windows\system32\conhost.exe 0x4 -ForceV1`},
		{`"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --field-trial-handle=1234,i,5678 --lang=en-US`,
			`"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --field-trial-handle=99,i,3 --lang=en-US`},
		{`C:\Windows\system32\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}`, `C:\Windows\system32\DllHost.exe /Processid:{3EB3C877-1F16-487C-9050-104DBCD66683}`},
		{`"C:\Users\alice\AppData\Local\Temp\setup_4f2a.exe" /S`, `"C:\Users\bob\AppData\Local\Temp\setup_99cc.exe" /S`},
		{`powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA`, `powershell -nop -w hidden -enc JABzAD0ATgBlAHcALQBPAGIAagBlAGMAdAAgAEkATwA=`},
		{`/bin/sh -c "echo hello"`, `/bin/sh -c "echo world"`},
		{`bash /home/ann/build.sh 12`, `bash /home/joe/build.sh 7`},
	}
	for _, tt := range tests {
		if a, b := Shape(tt.a), Shape(tt.b); a != b {
			t.Errorf("different shapes:\n %s\n %s", a, b)
		}
	}
	// Different programs and different verbs stay apart.
	apart := [][2]string{
		{`schtasks /query /tn Task1`, `schtasks /create /tn Task1 /tr calc.exe`},
		{`rundll32.exe shell32.dll,Control_RunDLL`, `rundll32.exe javascript:"\..\mshtml,RunHTMLApplication"`},
		{`certutil -decode a.b64 a.exe`, `certutil -encode a.exe a.b64`},
		{`C:\Windows\System32\cmd.exe /c dir`, `C:\Users\Public\cmd.exe /c dir`},
		{`java -classpath /opt/tomcat/bin/bootstrap.jar run`, `java -classpath /opt/jenkins/bin/bootstrapper.jar run`},
	}
	for _, p := range apart {
		if Shape(p[0]) == Shape(p[1]) {
			t.Errorf("same shape for different commands:\n %s\n %s\n -> %s", p[0], p[1], Shape(p[0]))
		}
	}
}

func FuzzShape(f *testing.F) {
	f.Add(`powershell -enc SQBFAFgA "x" 0x10 {AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}`)
	f.Fuzz(func(t *testing.T, s string) {
		got := Shape(s)
		if len(got) > maxShape {
			t.Fatalf("shape of %d bytes grew to %d", len(s), len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("shape is not valid UTF-8: %q", got)
		}
		if Shape(s) != got {
			t.Fatal("shape is not deterministic")
		}
	})
}
