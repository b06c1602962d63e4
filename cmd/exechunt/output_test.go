package main

import "testing"

func TestCountWords(t *testing.T) {
	for _, tc := range []struct {
		counts map[string]int
		want   string
	}{
		{map[string]int{"no-rows": 7}, "no-rows 7"},
		{map[string]int{"error": 2, "ok": 3, "no-rows": 0, "offline": 1}, "ok 3, error 2, offline 1"},
		{map[string]int{"zzz": 1, "ok": 1, "odd\x1b[2J": 1}, `ok 1, odd\x1b[2J 1, zzz 1`},
		{nil, "-"},
	} {
		if got := countWords(tc.counts); got != tc.want {
			t.Errorf("countWords(%v) = %q, want %q", tc.counts, got, tc.want)
		}
	}
}
