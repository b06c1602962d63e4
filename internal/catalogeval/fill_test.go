package catalogeval

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Every placeholder is filled with a value of the documented shape, for commands
// that land in every slot of the rotation.
func TestFill(t *testing.T) {
	const (
		place = `(C:\\Users\\[^\\]+\\AppData\\Local\\Temp\\|C:\\Users\\[^\\]+\\AppData\\Roaming\\|C:\\Users\\Public\\|C:\\ProgramData\\|C:\\Users\\[^\\]+\\Downloads\\)`
		name  = `[a-z_0-9]+`
		share = `\\\\[A-Za-z0-9.@-]+(\\[A-Za-z]+)+\\`
		site  = `https://[a-z]+\.[a-z-]+\.(com|net)/[a-z0-9]+/`
		guid  = `\{[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\}`
	)
	tests := []struct{ in, want string }{
		{"{PATH}", `^` + place + `?` + name + `\.dat$`},
		{"{PATH:.dll}", `^` + place + `?` + name + `\.dll$`},
		{"{PATH_ABSOLUTE}", `^` + place + name + `\.dat$`},
		{"{PATH_ABSOLUTE:.exe}", `^` + place + name + `\.exe$`},
		{"{PATH_ABSOLUTE:folder}", `^` + place + `cache$`},
		{"{PATH_ABSOLUTE:.source.exe}", `^` + place + name + `\.exe$`},
		{"{PATH_ABSOLUTE:.1.log}", `^` + place + name + `\.log$`},
		{"{REMOTEURL:.exe.txt}", `^` + site + name + `\.exe\.txt$`},
		{"{PATH_SMB}", `^` + share + name + `\.dat$`},
		{"{PATH_SMB:.exe}", `^` + share + name + `\.exe$`},
		{"{PATH_SMB:folder}", `^` + share + `tools$`},
		{"{REMOTEURL}", `^` + site + name + `$`},
		{"{REMOTEURL:.sct}", `^` + site + name + `\.sct$`},
		{"{CMD}", `^(cmd\.exe /c )?` + place + name + `\.(exe|bat)$`},
		{"{CMD:args}", `^(/S|-install|--silent|/q /norestart|-c config\.dat)$`},
		{"{CLSID}", `^` + guid + `$`},
		{"{GUID}", `^` + guid + `$`},
		{"{PID}", `^\d{4,5}$`},
		{"{LSASS_PID}", `^\d{3}$`},
		{"{process_name}", `^explorer\.exe$`},
		{"{name or ID}", `^9[A-Z0-9]{11}$`},
		{`xbootmgr.exe -trace "{boot|hibernate|standby}"`, `^xbootmgr\.exe -trace "boot"$`},
		{`Pester.bat [/help|?|-?|/?] "$null"`, `^Pester\.bat /help "\$null"$`},
		{"odbcconf /a {REGSVR {PATH_ABSOLUTE:.dll}}", `^odbcconf /a \{REGSVR ` + place + name + `\.dll\}$`},
		{"xwizard RunWizard {00000001-0000-0000-0000-0000FEEDACDC}", `^xwizard RunWizard \{00000001-0000-0000-0000-0000FEEDACDC\}$`},
		{"bitsadmin /addfile 1 c:\\data\\playfolder\\cmd.exe", `^bitsadmin /addfile 1 c:\\data\\playfolder\\cmd\.exe$`},
	}
	for _, tc := range tests {
		re := regexp.MustCompile(tc.want)
		for i := range 40 {
			f := newFiller("x.exe", fmt.Sprint(tc.in, i))
			if got := f.fill(tc.in); !re.MatchString(got) {
				t.Errorf("fill(%q) = %q, want %s", tc.in, got, tc.want)
			}
		}
	}
}

// Fills are deterministic, the same placeholder twice in a command is the same
// file, and files told apart by the catalog (source/dest, 1/2/3) differ.
func TestFillConsistent(t *testing.T) {
	tests := []struct {
		in   string
		same bool // the two halves (split at " | ") are equal
	}{
		{"{PATH} | {PATH}", true},
		{"{REMOTEURL:.exe} | {PATH:.exe}", false}, // but the same file name, checked below
		{"{PATH_ABSOLUTE:.source.exe} | {PATH_ABSOLUTE:.dest.exe}", false},
		{"{PATH_ABSOLUTE:.1.log} | {PATH_ABSOLUTE:.2.log}", false},
	}
	for _, tc := range tests {
		for i := range 40 {
			f := newFiller("y.exe", fmt.Sprint(tc.in, i))
			got := f.fill(tc.in)
			if again := newFiller("y.exe", fmt.Sprint(tc.in, i)).fill(tc.in); again != got {
				t.Fatalf("fill(%q) not deterministic: %q, %q", tc.in, got, again)
			}
			a, b, _ := strings.Cut(got, " | ")
			if (a == b) != tc.same {
				t.Errorf("fill(%q) = %q: halves equal %v, want %v", tc.in, got, a == b, tc.same)
			}
			if strings.HasPrefix(tc.in, "{REMOTEURL") && base(a) != base(b) {
				t.Errorf("fill(%q) = %q: downloaded file should keep its name", tc.in, got)
			}
		}
	}
}

// Across the catalog's commands the fills use every place, site, share and payload
// form, never a bare IP or a paste site.
func TestFillRotates(t *testing.T) {
	seen := map[string]bool{}
	for i := range 400 {
		f := newFiller(fmt.Sprint("bin", i%7), fmt.Sprint("cmd ", i))
		seen[f.dir()] = true
		seen["relative:"+fmt.Sprint(!strings.Contains(f.fill("{PATH}"), `\`))] = true
		url := f.fill("{REMOTEURL}")
		seen[url[:strings.Index(url[len("https://"):], "/")+len("https://")]] = true
		seen[f.fill("{PATH_SMB:folder}")] = true
		cmd := f.fill("{CMD}")
		seen["cmd:"+strings.SplitN(cmd, " ", 2)[0]+":"+cmd[len(cmd)-3:]] = true
		if regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|paste|discord|dropbox|github`).MatchString(url) {
			t.Errorf("URL %q rides on reputation", url)
		}
	}
	want := []string{`C:\Users\Public\`, `C:\ProgramData\`, "relative:true", "relative:false",
		"https://cdn.brightwave-media.com", "https://files.northwind-traders.net", "https://static.acme-cloudsync.com",
		"https://downloads.fabrikam-software.com", `\\fs01.corp.example.com\public\tools`, `\\DESKTOP-7H2K4LQ\Users\Public\tools`,
		`\\files.northwind-traders.net@SSL\DavWWWRoot\share\tools`, "cmd:cmd.exe:exe", "cmd:cmd.exe:bat"}
	for _, u := range []string{"jsmith", "a.kowalski", "mike"} {
		want = append(want, `C:\Users\`+u+`\AppData\Local\Temp\`, `C:\Users\`+u+`\AppData\Roaming\`, `C:\Users\`+u+`\Downloads\`)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("never filled: %s", w)
		}
	}
	direct := false
	for k := range seen {
		direct = direct || (strings.HasPrefix(k, "cmd:C:") && strings.HasSuffix(k, "exe"))
	}
	if !direct {
		t.Error("{CMD} never a dropped exe run directly")
	}
}

// The catalog's Privileges values map to the integrity level the command runs at.
func TestIntegrityOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"User", "Medium"}, {"Any", "Medium"}, {"Low privileges", "Medium"},
		{"User, Administrator in Windows 8", "Medium"}, {"Administrator", "High"}, {"Admin", "High"},
		{"Local Admin", "High"}, {"DNS admin", "High"}, {"Administrator, Backup Operators, SeBackupPrivilege", "High"},
		{"SYSTEM", "System"},
	} {
		if got := integrityOf(tc.in); got != tc.want {
			t.Errorf("integrityOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
