package catalogeval

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
)

// account is the machine and user a case's events are written for.
type account struct {
	Computer, Domain, User string
}

// accounts rotate by case so that no rule can ride on one host or user name.
var accounts = []account{
	{"WKS-0142.corp.example.com", "CORP", "jsmith"},
	{"LT-FIN-027.corp.example.com", "CORP", "a.kowalski"},
	{"DESKTOP-4J8Q2MV", "DESKTOP-4J8Q2MV", "mike"},
}

func (a account) profile() string { return `C:\Users\` + a.User + `\` }

// The places placeholders point to. Paths rotate among the user-writable folders
// attackers drop into; the last slot makes {PATH} a bare name in the current
// directory (Downloads) and {PATH_ABSOLUTE} a file in Downloads.
var (
	places = []func(account) string{
		func(a account) string { return a.profile() + `AppData\Local\Temp\` },
		func(a account) string { return a.profile() + `AppData\Roaming\` },
		func(account) string { return `C:\Users\Public\` },
		func(account) string { return `C:\ProgramData\` },
		func(a account) string { return a.profile() + `Downloads\` },
	}
	relativeSlot = len(places) - 1

	fileNames = []string{"update", "setup", "report", "invoice_0412", "helper", "svcupd", "config",
		"readme", "install", "data", "launcher", "document"}
	// Ordinary-looking https sites: no bare IP, no paste or file-sharing service, so
	// detection cannot ride on a URL's reputation.
	sites = []string{
		"https://cdn.brightwave-media.com/assets/",
		"https://files.northwind-traders.net/dl/",
		"https://static.acme-cloudsync.com/v2/",
		"https://downloads.fabrikam-software.com/releases/",
	}
	shares = []string{
		`\\fs01.corp.example.com\public\`,
		`\\files.northwind-traders.net@SSL\DavWWWRoot\share\`,
		`\\DESKTOP-7H2K4LQ\Users\Public\`,
	}
	argsFills = []string{"/S", "-install", "--silent", "/q /norestart", "-c config.dat"}
)

// filler fills the placeholders of one command, deterministically: every choice
// is a hash of the command (seed) and of the placeholder, so a command always gets
// the same values and different commands spread over all of them.
type filler struct {
	seed uint64
	acct account
}

func newFiller(binary, command string) filler {
	seed := hash(binary, command)
	return filler{seed: seed, acct: accounts[seed%uint64(len(accounts))]}
}

func hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// pick chooses one of n values for the placeholder named by key.
func (f filler) pick(n int, key string) int {
	return int(hash(fmt.Sprint(f.seed), key) % uint64(n))
}

func (f filler) slot() int { return int(f.seed>>8) % len(places) }

// dir is the folder this command's files live in.
func (f filler) dir() string { return places[f.slot()](f.acct) }

// cwd is the current directory of the shell the command is typed into.
func (f filler) cwd() string {
	if f.slot() == relativeSlot {
		return f.dir()
	}
	return f.acct.profile()
}

var (
	placeholder = regexp.MustCompile(`\{(PATH|PATH_ABSOLUTE|PATH_SMB|REMOTEURL|CMD|CLSID|GUID|PID|LSASS_PID|process_name|name or ID)(?::([^{}]*))?\}`)
	// Alternatives written as {a|b|c} or [a|b|c]: the first is taken.
	alternatives = regexp.MustCompile(`\{([^{}|]+)(?:\|[^{}|]+)+\}|\[([^\[\]|]+)(?:\|[^\[\]|]+)+\]`)
)

// fill replaces every placeholder of cmd.
func (f filler) fill(cmd string) string {
	cmd = alternatives.ReplaceAllStringFunc(cmd, func(m string) string {
		sub := alternatives.FindStringSubmatch(m)
		return sub[1] + sub[2]
	})
	return placeholder.ReplaceAllStringFunc(cmd, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		return f.value(sub[1], sub[2])
	})
}

// splitSpec reads a placeholder's ":…" part: ".ext", ".source.exe", ".1.log",
// "folder" or "args". Words that only tell two files apart (source, dest, a number)
// are returned as apart; the rest is the extension.
func splitSpec(spec string) (ext, apart string, folder bool) {
	if spec == "folder" {
		return "", "", true
	}
	var exts, aparts []string
	for _, p := range strings.Split(strings.TrimPrefix(spec, "."), ".") {
		switch {
		case p == "":
		case p == "source" || p == "dest" || strings.Trim(p, "0123456789") == "":
			aparts = append(aparts, p)
		default:
			exts = append(exts, p)
		}
	}
	return strings.Join(exts, "."), strings.Join(aparts, "."), false
}

// name is a file name without extension for files of extension ext: the same for
// the same extension within a command, a different one for each "apart" word.
func (f filler) name(ext, apart string) string {
	shift := map[string]int{"": 0, "source": 0, "dest": 5}[apart]
	if n, err := strconv.Atoi(apart); err == nil {
		shift = n
	}
	return fileNames[(f.pick(len(fileNames), ext)+shift)%len(fileNames)]
}

// file is a file name for the placeholder spec, with its extension (".dat" when
// the catalog names none).
func (f filler) file(spec string) string {
	ext, apart, _ := splitSpec(spec)
	if ext == "" {
		ext = "dat"
	}
	return f.name(ext, apart) + "." + ext
}

func (f filler) value(kind, spec string) string {
	switch kind {
	case "PATH", "PATH_ABSOLUTE":
		if _, _, folder := splitSpec(spec); folder {
			return f.dir() + "cache"
		}
		if kind == "PATH" && f.slot() == relativeSlot {
			return f.file(spec)
		}
		return f.dir() + f.file(spec)
	case "PATH_SMB":
		share := shares[f.pick(len(shares), "share")]
		if _, _, folder := splitSpec(spec); folder {
			return share + "tools"
		}
		return share + f.file(spec)
	case "REMOTEURL":
		site := sites[f.pick(len(sites), "site")]
		if ext, apart, _ := splitSpec(spec); ext == "" {
			return site + f.name("", apart)
		}
		return site + f.file(spec)
	case "CMD":
		if spec == "args" {
			return argsFills[f.pick(len(argsFills), "args")]
		}
		payload := f.dir() + f.name("exe", "")
		switch f.pick(3, "cmd") {
		case 0:
			return payload + ".exe"
		case 1:
			return "cmd.exe /c " + payload + ".exe"
		default:
			return "cmd.exe /c " + payload + ".bat"
		}
	case "CLSID", "GUID":
		return "{" + f.guid(kind+spec) + "}"
	case "PID":
		return fmt.Sprint(1000 + 4*f.pick(4000, "pid"))
	case "LSASS_PID":
		return fmt.Sprint(600 + 4*f.pick(60, "lsass"))
	case "process_name":
		return "explorer.exe"
	case "name or ID":
		return "9NKSQGP7F2NH" // a Microsoft Store product id
	}
	return "{" + kind + "}"
}

// guid is a GUID made from the seed and key, upper case as registry CLSIDs are written.
func (f filler) guid(key string) string {
	a, b := hash(fmt.Sprint(f.seed), key, "a"), hash(fmt.Sprint(f.seed), key, "b")
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(a), uint16(a>>32), 0x4000|uint16(a>>48)&0x0fff,
		0x8000|uint16(b)&0x3fff, b>>16&0xffffffffffff))
}
