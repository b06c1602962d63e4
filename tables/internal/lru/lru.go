// Package lru is a small, generic, size-bounded least-recently-used cache. It is not
// safe for concurrent use; callers hold their own lock.
package lru

import "container/list"

// Cache keeps at most Max entries, or at most MaxCost total cost when MaxCost > 0.
type Cache[K comparable, V any] struct {
	max     int
	maxCost int64
	cost    int64
	ll      *list.List
	items   map[K]*list.Element
	costOf  func(V) int64
}

type entry[K comparable, V any] struct {
	key  K
	val  V
	cost int64
}

// New returns a cache of at most max entries (max <= 0: unbounded count). costOf, when
// set, bounds the total cost to maxCost as well.
func New[K comparable, V any](max int, maxCost int64, costOf func(V) int64) *Cache[K, V] {
	return &Cache[K, V]{max: max, maxCost: maxCost, ll: list.New(), items: map[K]*list.Element{}, costOf: costOf}
}

// Get returns the value for k and marks it recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// Peek returns the value for k without changing its recency.
func (c *Cache[K, V]) Peek(k K) (V, bool) {
	if el, ok := c.items[k]; ok {
		return el.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// Add stores v under k, evicting the least recently used entries beyond the bounds.
func (c *Cache[K, V]) Add(k K, v V) {
	var cost int64
	if c.costOf != nil {
		cost = c.costOf(v)
	}
	if el, ok := c.items[k]; ok {
		e := el.Value.(*entry[K, V])
		c.cost += cost - e.cost
		e.val, e.cost = v, cost
		c.ll.MoveToFront(el)
	} else {
		c.items[k] = c.ll.PushFront(&entry[K, V]{k, v, cost})
		c.cost += cost
	}
	for c.ll.Len() > 1 && ((c.max > 0 && c.ll.Len() > c.max) || (c.maxCost > 0 && c.cost > c.maxCost)) {
		c.removeOldest()
	}
}

func (c *Cache[K, V]) removeOldest() {
	el := c.ll.Back()
	e := el.Value.(*entry[K, V])
	c.ll.Remove(el)
	delete(c.items, e.key)
	c.cost -= e.cost
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int { return c.ll.Len() }

// Cost is the total cost of the entries.
func (c *Cache[K, V]) Cost() int64 { return c.cost }

// Oldest calls fn for every entry from the least to the most recently used, without
// changing recency, until fn returns false. Adding the entries to an empty cache in
// this order restores the same recency.
func (c *Cache[K, V]) Oldest(fn func(K, V) bool) {
	for el := c.ll.Back(); el != nil; el = el.Prev() {
		e := el.Value.(*entry[K, V])
		if !fn(e.key, e.val) {
			return
		}
	}
}
