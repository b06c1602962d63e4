package analysis

import (
	"regexp"
	"strings"

	"github.com/exechunt/exechunt/tables/analysis/cmdline"
	"github.com/exechunt/exechunt/tables/analysis/psdecode"
)

var (
	reBraceCmd   = regexp.MustCompile(`\{[A-Za-z0-9_./-]+,[^{}\s]*\}`)
	interpreters = set("sh", "bash", "dash", "zsh", "ksh", "ash", "python", "python2", "python3",
		"perl", "ruby", "php", "node", "busybox")
	downloaders = set("curl", "wget", "fetch", "lwp-download")
)

// posixShell handles sh/bash/... : -c scripts are parsed as pipelines.
func (st *state) posixShell(cl string, argv []string, depth int) {
	var flags []string
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		flags = append(flags, a)
		if strings.Contains(a, "c") && !strings.HasPrefix(a, "--") {
			// The script is the rest of the command line, as the shell saw it.
			if j := strings.Index(cl, " "+a+" "); j >= 0 {
				st.posixScript(cl[j+len(a)+2:], depth)
			} else if i+1 < len(argv) {
				st.posixScript(strings.Join(argv[i+1:], " "), depth)
			}
			break
		}
		if a == "-i" || (len(a) <= 4 && strings.Contains(a, "i") && !strings.HasPrefix(a, "--")) {
			st.tag(tagPosixInteractive)
		}
	}
	if depth == 0 {
		st.res.Flags = flags
	}
}

// posixScript analyses shell source: pipelines, base64 decoding, downloads piped
// into interpreters, and each simple command.
func (st *state) posixScript(src string, depth int) {
	if depth > maxDepth {
		st.tag(tagInputTruncated)
		return
	}
	src = strings.TrimSpace(src)
	if len(src) >= 2 && (src[0] == '\'' || src[0] == '"') && src[len(src)-1] == src[0] {
		src = src[1 : len(src)-1]
	}
	st.addText(src, false)
	if cmdline.HasBraceExpansion(src) {
		st.tag(tagBraceExpansion)
	}
	tokens := cmdline.SplitPOSIX(src)
	// Walk pipelines: a | b | c.
	var pipeline [][]string
	var cur []string
	flushPipeline := func() {
		if len(cur) > 0 {
			pipeline = append(pipeline, cur)
		}
		st.pipeline(pipeline, depth)
		pipeline, cur = nil, nil
	}
	for _, t := range tokens {
		switch {
		case t == "|":
			if len(cur) > 0 {
				pipeline = append(pipeline, cur)
			}
			cur = nil
		case cmdline.IsOperator(t):
			flushPipeline()
		default:
			cur = append(cur, t)
		}
	}
	flushPipeline()
}

// pipeline checks one pipeline of simple commands.
func (st *state) pipeline(cmds [][]string, depth int) {
	var decoded string
	for i, c := range cmds {
		name := cmdline.BaseName(c[0])
		next := ""
		if i+1 < len(cmds) {
			next = cmdline.BaseName(cmds[i+1][0])
		}
		switch {
		case name == "base64" && hasAny(c[1:], "-d", "--decode", "-D", "-di", "-id"):
			st.tag(tagPosixBase64Decode)
			if i > 0 && decoded == "" {
				decoded = echoedBase64(cmds[i-1], st.a.limits)
			}
			if interpreters[next] {
				st.tag(tagPosixBase64Shell)
			}
		case downloaders[name] && interpreters[next]:
			st.tag(tagPosixPipeToShell)
		}
		if i < 8 && len(c) > 0 && st.nested < maxNested {
			st.commandLine(strings.Join(c, " "), Process{}, depth+1)
		}
	}
	if decoded != "" {
		st.addLayers([]psdecode.Layer{{Kind: "base64", Text: decoded}})
		if st.res.DecodedCommand == "" {
			st.res.DecodedCommand = decoded
		}
		st.posixScript(decoded, depth+1)
	}
}

// echoedBase64 decodes the argument of an echo/printf that feeds base64 -d.
func echoedBase64(c []string, lim psdecode.Limits) string {
	if len(c) < 2 || (cmdline.BaseName(c[0]) != "echo" && cmdline.BaseName(c[0]) != "printf") {
		return ""
	}
	arg := c[len(c)-1]
	raw, err := psdecode.Base64(arg, lim.MaxBase64)
	if err != nil {
		return ""
	}
	text, err := psdecode.Text(raw)
	if err != nil {
		return ""
	}
	return text
}

func hasAny(args []string, want ...string) bool {
	for _, a := range args {
		for _, w := range want {
			if a == w {
				return true
			}
		}
	}
	return false
}
