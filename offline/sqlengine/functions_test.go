package sqlengine

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestFunctions checks osquery's SQL extras against osquery's documented results
// (osquery/sql/sqlite_string.cpp, sqlite_encoding.cpp and their tests).
func TestFunctions(t *testing.T) {
	e := open(t)
	cases := []struct {
		expr string
		want any
	}{
		{"split('192.168.0.1', '.', 1)", "168"},
		{"split('192.168.0.1', '.0', 0)", "192"},
		{"split('192.168.0.1', '.0', 2)", "1"}, // "192","168","","1" with the empty piece dropped
		{"split('a, b ,c', ',', 1)", "b"},      // pieces are trimmed
		{"split('a.b', '.', 5)", nil},
		{"split(NULL, '.', 0)", nil},
		{"regex_split('192.168.0.1', '\\.', 1)", "168"},
		{"regex_split('192.168.0.1', '\\.0', 0)", "192.168"},
		{"regex_split('a,,b', ',', 1)", ""},
		{"regex_match('powershell.exe -enc SQBFAFgA', '-enc(odedcommand)? ([A-Za-z0-9+/=]+)', 2)", "SQBFAFgA"},
		{"regex_match('powershell.exe -enc SQBFAFgA', '-enc', 0)", "-enc"},
		{"regex_match('abc', 'x', 0)", nil},
		{"regex_match('abc', 'b', 3)", nil},
		{"'cmd.exe /c whoami' REGEXP '/c\\s+who'", int64(1)},
		{"'cmd.exe' REGEXP '^power'", int64(0)},
		{"concat('a', NULL, 'b', 3)", "ab3"},
		{"concat()", nil},
		{"concat_ws(', ', 'a', NULL, 'b')", "a, b"},
		{"concat_ws(NULL, 'a', 'b')", "ab"},
		{"to_base64('exechunt')", "ZXhlY2h1bnQ="},
		{"from_base64('ZXhlY2h1bnQ=')", "exechunt"},
		{"from_base64('ZXhlY2h1bnQ')", "exechunt"}, // missing padding tolerated
		{"from_base64('***')", ""},
		{"conditional_to_base64('plain text')", "plain text"},
		{"conditional_to_base64(char(1) || 'x')", "AXg="},
		{"sha256('abc')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"md5('abc')", "900150983cd24fb0d6963f7d28e17f72"},
		{"sha1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"inet_aton('192.168.0.1')", int64(3232235521)},
		{"inet_aton('::1')", nil},
		{"json_extract('{\"a\":{\"b\":7}}', '$.a.b')", int64(7)}, // SQLite's JSON is there
		{"sqrt(16.0)", 4.0},                                      // and its math functions
	}
	for _, tc := range cases {
		rows := all(t, e, "SELECT "+tc.expr)
		if len(rows) != 1 || !reflect.DeepEqual(rows[0][0], tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.expr, rows, tc.want)
		}
	}
	long := "SELECT regex_match('x', '" + strings.Repeat("a", 300) + "', 0)"
	if rows, err := e.Query(context.Background(), long); err == nil {
		rows.Next()
		if rows.Err() == nil {
			t.Error("a 300-byte pattern was accepted (osquery's limit is 256)")
		}
		rows.Close()
	}
}
