// Package decimal parses decimal integers in bytes or strings without
// allocating, for the tables' readers (/proc, audit logs).
package decimal

import "math"

// Uint parses a decimal of 1 to 19 digits (no sign).
func Uint[T ~string | ~[]byte](b T) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// Int parses an optionally negative decimal of 1 to 19 digits that fits an int64.
func Int[T ~string | ~[]byte](b T) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := Uint(b)
	if !ok || u > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}
