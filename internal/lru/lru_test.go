package lru

import "testing"

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
