// Package smallcache is a map behind a mutex that starts over when full: for
// caches whose keys are few in practice (encoded agent configurations, compiled
// SQL patterns), where dropping every entry now and then costs little and needs
// no eviction order.
package smallcache

import "sync"

// Cache holds at most Max entries (0: no bound); the zero Cache is ready to use.
type Cache[K comparable, V any] struct {
	Max int
	mu  sync.Mutex
	m   map[K]V
}

// Get returns the value stored for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

// Put stores v for k, first dropping every entry when the cache is full.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.Max > 0 && len(c.m) >= c.Max {
		c.m = map[K]V{}
	}
	c.m[k] = v
}
