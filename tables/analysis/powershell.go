package analysis

import (
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/psdecode"
)

// psParams are the powershell.exe / pwsh parameters in the order that settles
// ambiguous prefixes the way powershell.exe does (-e and -en mean
// -EncodedCommand, -ex means -ExecutionPolicy, -c means -Command, -no is taken
// as -NoProfile).
var psParams = []string{
	"command", "encodedcommand", "executionpolicy", "file", "noprofile", "noninteractive",
	"nologo", "noexit", "windowstyle", "version", "sta", "mta", "inputformat", "outputformat",
	"psconsolefile", "configurationname", "encodedarguments", "workingdirectory", "login",
	"settingsfile", "custompipename", "help",
}

// psAliases are the documented aliases that are not prefixes.
var psAliases = map[string]string{
	"ec": "encodedcommand", "ep": "executionpolicy", "ea": "encodedarguments",
	"nop": "noprofile", "noni": "noninteractive", "nol": "nologo", "noe": "noexit",
	"w": "windowstyle", "v": "version", "wd": "workingdirectory", "l": "login",
	"if": "inputformat", "of": "outputformat", "?": "help", "h": "help",
}

// psParamValue lists parameters that take a value.
var psParamValue = set("encodedcommand", "executionpolicy", "windowstyle", "version",
	"inputformat", "outputformat", "psconsolefile", "configurationname", "encodedarguments",
	"workingdirectory", "settingsfile", "custompipename")

// dashes are the characters PowerShell accepts before a parameter name: '-',
// '/', en dash, em dash and horizontal bar.
var dashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// psParam resolves an argument to a parameter name, reporting whether a
// look-alike dash was used. ok is false for a non-parameter.
func psParam(arg string) (name, value string, lookalike, ok bool) {
	rest := ""
	for _, d := range dashes {
		if strings.HasPrefix(arg, d) {
			rest, lookalike = arg[len(d):], d != "-" && d != "/"
			break
		}
	}
	if rest == "" {
		return "", "", false, false
	}
	if i := strings.IndexByte(rest, ':'); i > 0 {
		rest, value = rest[:i], rest[i+1:]
	}
	rest = strings.ToLower(rest)
	if n, ok := psAliases[rest]; ok {
		return n, value, lookalike, true
	}
	for _, p := range psParams {
		if strings.HasPrefix(p, rest) {
			return p, value, lookalike, true
		}
	}
	return "", "", lookalike, false
}

// powershell parses powershell.exe / pwsh arguments, tags the risky switches,
// and decodes and analyses the command text.
func (st *state) powershell(cl string, argv []string, program string, depth int) {
	var flags []string
	var command, encoded string
	pwsh := strings.HasPrefix(program, "pwsh")
	for i := 1; i < len(argv); i++ {
		arg := argv[i]
		name, value, lookalike, ok := psParam(arg)
		if lookalike {
			st.tag(tagDashLookalike)
		}
		if !ok {
			// The first non-parameter starts the command (powershell.exe) or
			// names the script file (pwsh).
			if pwsh && !strings.ContainsAny(arg, " ;|&(){}$") {
				flags = append(flags, "-file")
				break
			}
			command = strings.Join(argv[i:], " ")
			break
		}
		if psParamValue[name] && value == "" && i+1 < len(argv) {
			i++
			value = argv[i]
		}
		v := strings.ToLower(strings.Trim(value, `"' `))
		switch name {
		case "command":
			flags = append(flags, "-command")
			command = strings.Join(argv[i+1:], " ")
			i = len(argv)
		case "file":
			flags = append(flags, "-file")
			i = len(argv)
		case "encodedcommand":
			flags = append(flags, "-encodedcommand")
			encoded = value
			st.tag(tagEncodedCommand)
		case "executionpolicy":
			flags = append(flags, "-executionpolicy "+v)
			if v != "" && (strings.HasPrefix("bypass", v) || strings.HasPrefix("unrestricted", v)) {
				st.tag(tagExecPolicyBypass)
			}
		case "windowstyle":
			flags = append(flags, "-windowstyle "+v)
			if v == "1" || (v != "" && strings.HasPrefix("hidden", v)) {
				st.tag(tagHiddenWindow)
			}
		case "version":
			flags = append(flags, "-version "+v)
			if v == "2" || strings.HasPrefix(v, "2.") {
				st.tag(tagPSDowngrade)
			}
		default:
			if psParamValue[name] {
				flags = append(flags, "-"+name+" "+v)
			} else {
				flags = append(flags, "-"+name)
			}
		}
	}
	if depth == 0 || st.res.Flags == nil {
		st.res.Flags = flags
	}
	if encoded != "" {
		if st.res.EncodedCommand == "" {
			st.res.EncodedCommand = encoded
		}
		text, err := psdecode.EncodedCommand(encoded, st.a.limits)
		if err == nil {
			st.addLayers([]psdecode.Layer{{Kind: "base64_utf16le", Text: text}})
			st.res.DecodedCommand = text // nested payloads decode later and win
			st.psText(text, depth)
		}
	}
	if c := strings.TrimSpace(command); c != "" && c != "-" {
		st.psText(c, depth)
	}
}

// psText analyses PowerShell source (a -Command, a decoded payload, a script
// block): it peels the obfuscation layers, measures obfuscation, and analyses
// the programs it starts (PowerShell again, LOLBins, shells) as command lines.
func (st *state) psText(text string, depth int) {
	st.addText(text, true)
	st.obfuscation(text)
	d := psdecode.Deobfuscate(text, st.a.limits)
	if d.Truncated {
		st.tag(tagInputTruncated)
	}
	if len(d.Layers) > 0 {
		st.addLayers(d.Layers)
		st.res.DecodedCommand = d.Text
		for _, l := range d.Layers {
			st.obfuscationFromLayer(l)
		}
	}
	if d.Resolved && (len(d.Layers) == 0 || d.Layers[len(d.Layers)-1].Text != d.Text) {
		// Variables replaced by their values (after the last layer): not a
		// decoding step, but the content rules read what the script really
		// passes around.
		st.addText(d.Text, true)
	}
	st.embeddedPowerShell(d.Text, depth, true)
	if d.Text != text {
		st.scriptCommands([]string{d.Text, text}, depth)
	} else {
		st.scriptCommands([]string{text}, depth)
	}
}
