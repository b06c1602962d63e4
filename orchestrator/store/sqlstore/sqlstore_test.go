package sqlstore

import "testing"

func TestBind(t *testing.T) {
	for _, c := range []struct {
		numbered bool
		in, want string
	}{
		{false, `SELECT ? WHERE a = ?`, `SELECT ? WHERE a = ?`},
		{true, `SELECT ? WHERE a = ?`, `SELECT $1 WHERE a = $2`},
		{true, `SELECT '?' || ?, 'it''s ?' WHERE b IN (SELECT value FROM unnest(?::bigint[]))`,
			`SELECT '?' || $1, 'it''s ?' WHERE b IN (SELECT value FROM unnest($2::bigint[]))`},
		{true, `SELECT 1`, `SELECT 1`},
	} {
		s := New(Config{Dialect: Dialect{Numbered: c.numbered, Each: func(string) string { return "" }}})
		if got := s.bind(c.in); got != c.want {
			t.Errorf("bind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
