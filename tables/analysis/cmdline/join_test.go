package cmdline

import (
	"bytes"
	"slices"
	"testing"
)

func TestJoinNUL(t *testing.T) {
	cases := map[string]string{
		"":                         "",
		"\x00\x00":                 "",
		"ls\x00-l\x00":             "ls -l",
		"a\x00b c\x00":             "a 'b c'",
		"a\x00\x00b\x00":           "a '' b",
		"sh\x00-c\x00echo 'x'\x00": `sh -c 'echo '\''x'\'''`,
		"nginx: master process":    "nginx: master process",
		"x\x00a\\b\x00":            `x 'a\b'`,
		"x\x00tab\there\x00":       "x 'tab\there'",
	}
	for in, want := range cases {
		if got := JoinNUL([]byte(in)); got != want {
			t.Errorf("JoinNUL(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzJoinCmdline: a joined argv splits back into the same argv (SplitPOSIX),
// except for trailing empty arguments, which /proc cannot tell from padding.
func FuzzJoinCmdline(f *testing.F) {
	f.Add([]byte("sh\x00-c\x00echo 'hi' | tr a-z A-Z\x00"))
	f.Add([]byte("a\x00\x00{b,c}\x00$(x)\x00"))
	f.Add([]byte("title set by setproctitle"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		line := JoinNUL(raw)
		args := bytes.Split(bytes.TrimRight(raw, "\x00"), []byte{0})
		if len(args) < 2 {
			return // a single string is kept verbatim
		}
		want := make([]string, len(args))
		for i, a := range args {
			want[i] = string(a)
		}
		if got := SplitPOSIX(line); !slices.Equal(got, want) {
			t.Fatalf("JoinNUL(%q) = %q splits to %q", raw, line, got)
		}
	})
}
