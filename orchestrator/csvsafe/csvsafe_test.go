package csvsafe

import (
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	w.Write([]string{"=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "plain", "a=b", ""})
	w.Flush()
	want := `'=cmd|' /C calc'!A0,'+1,'-2,'@SUM(A1),'	x,plain,a=b,` + "\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
