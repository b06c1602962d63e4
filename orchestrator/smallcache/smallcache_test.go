package smallcache

import "testing"

func TestCache(t *testing.T) {
	c := Cache[string, int]{Max: 2}
	if _, ok := c.Get("a"); ok {
		t.Fatal("empty cache has a")
	}
	c.Put("a", 1)
	c.Put("b", 2)
	if v, ok := c.Get("b"); !ok || v != 2 {
		t.Fatalf("b = %d %v", v, ok)
	}
	c.Put("c", 3) // full: starts over
	if _, ok := c.Get("a"); ok {
		t.Error("a kept after the cache filled up")
	}
	if v, ok := c.Get("c"); !ok || v != 3 {
		t.Errorf("c = %d %v", v, ok)
	}
}
