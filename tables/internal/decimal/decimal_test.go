package decimal

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in  string
		u   uint64
		uok bool
		i   int64
		iok bool
	}{
		{"0", 0, true, 0, true},
		{"42", 42, true, 42, true},
		{"-42", 0, false, -42, true},
		{"", 0, false, 0, false},
		{"-", 0, false, 0, false},
		{"4a", 0, false, 0, false},
		{"+1", 0, false, 0, false},
		{"9223372036854775807", 9223372036854775807, true, 9223372036854775807, true},
		{"9223372036854775808", 9223372036854775808, true, 0, false},
		{"9999999999999999999", 9999999999999999999, true, 0, false},
		{"10000000000000000000", 0, false, 0, false},
	} {
		if u, ok := Uint(tc.in); u != tc.u || ok != tc.uok {
			t.Errorf("Uint(%q) = %d %v, want %d %v", tc.in, u, ok, tc.u, tc.uok)
		}
		if u, ok := Uint([]byte(tc.in)); u != tc.u || ok != tc.uok {
			t.Errorf("Uint([]byte %q) = %d %v", tc.in, u, ok)
		}
		if i, ok := Int(tc.in); i != tc.i || ok != tc.iok {
			t.Errorf("Int(%q) = %d %v, want %d %v", tc.in, i, ok, tc.i, tc.iok)
		}
	}
	if testing.AllocsPerRun(100, func() { Int([]byte("-12345")) }) != 0 {
		t.Error("Int allocates")
	}
}
