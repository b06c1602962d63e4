package source

import (
	"context"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	type line struct {
		no   int
		off  int64
		text string
	}
	long := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		in      string
		max     int
		want    []line
		tooLong []int
	}{
		{"lf and crlf", "a\r\nbb\nccc", 10, []line{{1, 0, "a"}, {2, 3, "bb"}, {3, 6, "ccc"}}, nil},
		{"blank lines are counted, not delivered", "a\n\n\nb\n", 10, []line{{1, 0, "a"}, {4, 4, "b"}}, nil},
		{"too long in the middle", "a\n" + long + "\nb", 50, []line{{1, 0, "a"}, {3, 103, "b"}}, []int{2}},
		{"too long at the end", "a\n" + long, 50, []line{{1, 0, "a"}}, []int{2}},
		{"long but allowed", long + "\n", 200, []line{{1, 0, long}}, nil},
		{"empty", "", 10, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []line
			var long []int
			// A small bufio size is not settable, so inputs longer than the 64 KiB buffer
			// are covered by the JSON reader's 200 MB line test; here max drives the limit.
			_, err := Lines(context.Background(), strings.NewReader(tt.in), tt.max, func(no int, off int64, b []byte) error {
				got = append(got, line{no, off, string(b)})
				return nil
			}, func(no int, off int64, n int64) { long = append(long, no) })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("lines = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			if len(long) != len(tt.tooLong) {
				t.Errorf("too long = %v, want %v", long, tt.tooLong)
			}
		})
	}
}
