package main

import "testing"

func TestTermSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"win-1", "win-1"},
		{"Ünïcode ok", "Ünïcode ok"},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"\x1b]52;c;Y2FsYw==\x07", `\x1b]52;c;Y2FsYw==\x07`},
		{"a\tb\nc\rd", `a\x09b\x0ac\x0dd`},
		{"\u009b31m", `\u009b31m`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\x7f", `\x7f`},
	} {
		if got := termSafe(tc.in); got != tc.want {
			t.Errorf("termSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
