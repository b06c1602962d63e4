package lru

import (
	"strings"
	"testing"
)

func TestCache(t *testing.T) {
	c := New[string, int](2, 0, nil)
	c.Add("a", 1)
	c.Add("b", 2)
	c.Get("a")
	c.Add("c", 3) // evicts b, the least recently used
	if _, ok := c.Get("b"); ok {
		t.Error("b should be evicted")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Error("a lost")
	}
	cost := New[string, string](0, 10, func(s string) int64 { return int64(len(s)) })
	cost.Add("x", "12345")
	cost.Add("y", "123456")
	if cost.Len() != 1 || cost.Cost() != 6 {
		t.Errorf("cost bound: len %d cost %d", cost.Len(), cost.Cost())
	}
	cost.Add("y", "1")
	if cost.Cost() != 1 {
		t.Errorf("replace cost: %d", cost.Cost())
	}
}

func TestOldestRestoresRecency(t *testing.T) {
	c := New[string, int](3, 0, nil)
	for i, k := range []string{"a", "b", "c"} {
		c.Add(k, i)
	}
	c.Get("a") // a is now the most recent
	var keys []string
	d := New[string, int](3, 0, nil)
	c.Oldest(func(k string, v int) bool { keys = append(keys, k); d.Add(k, v); return true })
	if got := strings.Join(keys, ""); got != "bca" {
		t.Fatalf("Oldest order = %q, want bca", got)
	}
	d.Add("z", 9) // evicts the least recent of the copy: b
	if _, ok := d.Peek("b"); ok {
		t.Error("copy evicted the wrong entry")
	}
}
