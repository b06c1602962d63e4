package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestAllowBurstThenRate(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := New(2, 3, c.now, 0)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th request: ok=%v wait=%v, want refused, 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key is limited too")
	}
	c.t = c.t.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("no token after 1/rate")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("a second token appeared")
	}
	c.t = c.t.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("after refill, request %d refused", i)
		}
	}
}

func TestBlockedCountsOnlyFailures(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := New(1.0/60, 2, c.now, 0)
	if b, _ := l.Blocked("ip"); b {
		t.Fatal("unknown key blocked")
	}
	l.Fail("ip")
	if b, _ := l.Blocked("ip"); b {
		t.Fatal("blocked after 1 of 2 failures")
	}
	l.Fail("ip")
	b, wait := l.Blocked("ip")
	if !b || wait != time.Minute {
		t.Fatalf("after 2 failures: blocked=%v wait=%v", b, wait)
	}
	if RetryAfter(wait) != "60" || RetryAfter(time.Millisecond) != "1" {
		t.Errorf("RetryAfter = %s, %s", RetryAfter(wait), RetryAfter(time.Millisecond))
	}
	c.t = c.t.Add(time.Minute)
	if b, _ := l.Blocked("ip"); b {
		t.Fatal("still blocked after the refill")
	}
}

func TestKeysAreBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := New(1, 1, c.now, 100)
	for i := range 1000 {
		c.t = c.t.Add(time.Millisecond)
		l.Allow(fmt.Sprint(i))
	}
	if n := len(l.buckets); n > 100 {
		t.Fatalf("%d buckets kept, want <= 100", n)
	}
	// The most recent key is still limited.
	if ok, _ := l.Allow("999"); ok {
		t.Error("the newest bucket was dropped")
	}
}

// TestAllowN: bytes against a burst; one request larger than the burst passes on
// a full bucket and leaves a debt the key waits out.
func TestAllowN(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(100, 1000, func() time.Time { return now }, 0)
	if ok, _ := l.AllowN("h", 600); !ok {
		t.Fatal("600 of 1000 refused")
	}
	if ok, wait := l.AllowN("h", 600); ok || wait != 2*time.Second {
		t.Errorf("600 more with 400 left: ok=%v wait=%v, want refused for 2s", ok, wait)
	}
	now = now.Add(6 * time.Second) // full again
	if ok, _ := l.AllowN("h", 5000); !ok {
		t.Fatal("an oversized request on a full bucket refused")
	}
	if ok, wait := l.AllowN("h", 1); ok || wait != 40*time.Second+10*time.Millisecond {
		t.Errorf("in debt of 4000: ok=%v wait=%v, want refused for 40.01s", ok, wait)
	}
	if ok, _ := l.AllowN("other", 1000); !ok {
		t.Error("another key was limited")
	}
}
