// Package ratelimit is a keyed token bucket: each key (a client IP, a host) has
// its own bucket of Burst tokens refilled at Rate per second. The operator API
// limits failed logins per client IP with it and the agent API limits requests
// per enrolled host, so one broken or hostile client cannot starve the others.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter holds one bucket per key. The zero value is not usable; use New.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time
	max   int // keys kept before full buckets are dropped

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a limiter allowing burst requests at once and rate per second
// after that. now may be nil (time.Now). At most maxKeys buckets are kept: when
// more are needed, buckets that have refilled completely (equivalent to absent
// ones) are dropped first, then the oldest. maxKeys <= 0 means 100,000.
func New(rate float64, burst int, now func() time.Time, maxKeys int) *Limiter {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if burst < 1 {
		burst = 1
	}
	return &Limiter{rate: rate, burst: float64(burst), now: now, max: maxKeys, buckets: map[string]*bucket{}}
}

// refill brings b up to date at t.
func (l *Limiter) refill(b *bucket, t time.Time) {
	if d := t.Sub(b.at).Seconds(); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d*l.rate)
		b.at = t
	}
}

func (l *Limiter) get(key string, t time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evict(t)
		}
		b = &bucket{tokens: l.burst, at: t}
		l.buckets[key] = b
	}
	l.refill(b, t)
	return b
}

// evict drops full buckets, or failing that the least recently used half.
func (l *Limiter) evict(t time.Time) {
	for k, b := range l.buckets {
		l.refill(b, t)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.max {
		return
	}
	var oldest time.Time
	for _, b := range l.buckets {
		if oldest.IsZero() || b.at.Before(oldest) {
			oldest = b.at
		}
	}
	cut := oldest.Add(t.Sub(oldest) / 2)
	for k, b := range l.buckets {
		if !b.at.After(cut) {
			delete(l.buckets, k)
		}
	}
}

// Allow takes a token from key's bucket; false (with how long until the next
// token) means the key is over its limit.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	b := l.get(key, t)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.wait(b)
}

// AllowN takes n tokens from key's bucket while it is not in debt: a request
// larger than the burst still passes when the bucket is full, and the bucket then
// goes negative, so the key waits until it has paid the excess back. Rates of
// bytes (a host's log volume) use it; false comes with how long until the debt is
// paid.
func (l *Limiter) AllowN(key string, n float64) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	b := l.get(key, t)
	if b.tokens >= 0 && (b.tokens >= n || b.tokens >= l.burst) {
		b.tokens -= n
		return true, 0
	}
	if l.rate <= 0 {
		return false, time.Hour
	}
	need := math.Min(n, l.burst) - b.tokens
	return false, time.Duration(need / l.rate * float64(time.Second))
}

// Blocked reports whether key has no token left, without taking one (for
// limits that only count failures: check Blocked first, Fail after a failure).
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return false, 0
	}
	l.refill(b, l.now())
	if b.tokens >= 1 {
		return false, 0
	}
	return true, l.wait(b)
}

// Fail takes a token from key's bucket (it may go empty).
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	b.tokens = math.Max(0, b.tokens-1)
}

func (l *Limiter) wait(b *bucket) time.Duration {
	if l.rate <= 0 {
		return time.Hour
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// RetryAfter formats a wait for the Retry-After header (whole seconds, at least 1).
func RetryAfter(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return itoa(s)
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
