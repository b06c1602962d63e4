// Package forward sends anomaly events where hunters already look — webhooks,
// syslog, JSON-lines files — at least once: events are enqueued in the store's
// outbox (store.Outbox) when an anomaly opens, rises in rank or is triaged, and
// one replica (the holder of the store lease "forward") delivers each
// destination's queue in order, retrying with exponential backoff until the
// destination takes it or the item is dead-lettered (docs/forwarding.md).
package forward

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// LeaseName is the store lease whose holder delivers the outbox.
const LeaseName = "forward"

// RankStep is the rise in rank that makes an anomaly.rank_raised event: an
// event is sent when the rank enters a higher step (0.1 wide) than it had.
const RankStep = 0.1

// Store is what the forwarder needs of the store.
type Store interface {
	store.Outbox
	store.Leases
}

// Backoff is the wait before retrying a failed delivery: Initial doubled at
// each failed try, at most Max, then spread by ±Jitter/2 of itself.
type Backoff struct {
	Initial, Max time.Duration
	Jitter       float64 // 0..1
}

// DefaultBackoff: 1s, 2s, 4s … up to 5 minutes, ±10%.
var DefaultBackoff = Backoff{Initial: time.Second, Max: 5 * time.Minute, Jitter: 0.2}

// Wait returns the wait after the attempts-th failed try (1 for the first).
func (b Backoff) Wait(attempts int) time.Duration {
	d := float64(b.Initial) * math.Pow(2, float64(max(attempts-1, 0)))
	d = min(d, float64(b.Max))
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(rand.Float64()-0.5)
	}
	return time.Duration(d)
}

// Config configures a Forwarder.
type Config struct {
	Store        Store
	Destinations []*Destination
	// Holder names this replica in the lease (hunts.DefaultHolder()).
	Holder string
	Log    *slog.Logger
	Now    func() time.Time
	// Poll is how often queues are looked at when nothing woke the forwarder
	// (default 1s); LeaseTTL the lease's time to live (default 15s).
	Poll, LeaseTTL time.Duration
	Backoff        Backoff // zero: DefaultBackoff
	// MaxAttempts is the number of failed tries after which an item is
	// dead-lettered (default 20: about an hour with DefaultBackoff).
	MaxAttempts int
	// Batch bounds the items of one delivery (default 100).
	Batch int
	// OnDelivery, when set, is told of every delivery: its destination, how
	// many items, and its error (metrics).
	OnDelivery func(destination string, items int, err error)
}

// Forwarder enqueues anomaly events and delivers the outbox.
type Forwarder struct {
	c     Config
	lease *store.LeaseKeeper // the "forward" lease
	wake  chan struct{}

	mu    sync.Mutex
	ranks map[string]float64 // anomaly id → last rank seen by Observe
}

// New returns a Forwarder; Run delivers.
func New(c Config) *Forwarder {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Poll = cmp.Or(max(c.Poll, 0), time.Second)
	c.LeaseTTL = cmp.Or(max(c.LeaseTTL, 0), 15*time.Second)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxAttempts = cmp.Or(max(c.MaxAttempts, 0), 20)
	c.Batch = cmp.Or(max(c.Batch, 0), 100)
	return &Forwarder{c: c, wake: make(chan struct{}, 1), ranks: map[string]float64{},
		lease: &store.LeaseKeeper{Leases: c.Store, Name: LeaseName, Holder: c.Holder, TTL: c.LeaseTTL}}
}

// Destinations returns the configured destinations' names.
func (f *Forwarder) Destinations() []string {
	var out []string
	for _, d := range f.c.Destinations {
		out = append(out, d.Name)
	}
	return out
}

// Leader reports whether this replica delivers the outbox now.
func (f *Forwarder) Leader() bool { return f.lease.Held() }

// wants reports whether d takes events about a.
func (d *Destination) wants(a apiv1.Anomaly) bool {
	if !d.Anomalies || a.Rank < d.MinRank {
		return false
	}
	if len(d.Packs) == 0 {
		return true
	}
	for _, q := range append([]string{a.Query}, a.Queries...) {
		pack, _, _ := strings.Cut(q, "/")
		if slices.Contains(d.Packs, pack) {
			return true
		}
	}
	return false
}

// enqueue adds ev, under key, to the queue of every destination that wants it.
func (f *Forwarder) enqueue(ctx context.Context, key string, ev apiv1.ForwardEvent) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var items []store.OutboxItem
	for _, d := range f.c.Destinations {
		if d.wants(ev.Anomaly) {
			items = append(items, store.OutboxItem{Destination: d.Name, Key: key, Payload: payload, Created: ev.Time})
		}
	}
	if len(items) == 0 {
		return nil
	}
	n, err := f.c.Store.Enqueue(ctx, items)
	if err != nil {
		return fmt.Errorf("forward: enqueue %s: %w", ev.Event, err)
	}
	if n > 0 {
		f.Wake()
	}
	return nil
}

// Wake makes the delivery loops look at their queues now.
func (f *Forwarder) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// step is the rank step of a rank.
func step(rank float64) int { return int(math.Floor(rank/RankStep + 1e-9)) }

// Observe is told the current assessment (every anomaly, as GET
// /api/v1/anomalies lists them) and enqueues anomaly.opened for each it has
// not forwarded before and anomaly.rank_raised for each whose rank entered a
// higher step since the last assessment. Items are keyed by anomaly (and
// step), so replicas and restarts never queue one twice; only the lease
// holder observes, so a rise is seen once.
func (f *Forwarder) Observe(ctx context.Context, list []apiv1.Anomaly) error {
	if len(f.c.Destinations) == 0 || !f.Leader() {
		return nil
	}
	now := f.c.Now().UTC()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range list {
		prev, seen := f.ranks[a.ID]
		f.ranks[a.ID] = a.Rank
		if !seen {
			if a.State == apiv1.TriageSuppressed || a.State == apiv1.TriageResolved {
				continue // a hunter has dealt with it already
			}
			if err := f.enqueue(ctx, "opened/"+a.ID, apiv1.ForwardEvent{Event: apiv1.EventAnomalyOpened, Time: now,
				Anomaly: a}); err != nil {
				delete(f.ranks, a.ID)
				return err
			}
			continue
		}
		if s := step(a.Rank); s > step(prev) {
			key := "raised/" + a.ID + "/" + strconv.Itoa(s)
			if err := f.enqueue(ctx, key, apiv1.ForwardEvent{Event: apiv1.EventAnomalyRankRaised, Time: now,
				PreviousRank: prev, Anomaly: a}); err != nil {
				f.ranks[a.ID] = prev
				return err
			}
		}
	}
	return nil
}

// Triaged enqueues anomaly.triaged: a (as triaged) was set to its state by actor.
func (f *Forwarder) Triaged(ctx context.Context, a apiv1.Anomaly, actor string) error {
	if len(f.c.Destinations) == 0 {
		return nil
	}
	now := f.c.Now().UTC()
	key := "triaged/" + a.ID + "/" + a.State + "/" + strconv.FormatInt(a.At.UnixMicro(), 10)
	return f.enqueue(ctx, key, apiv1.ForwardEvent{Event: apiv1.EventAnomalyTriaged, Time: now, Actor: actor, Anomaly: a})
}

// Run holds (or waits for) the lease and delivers every destination's queue,
// each in its own loop, until ctx ends; it then closes the sinks and gives the
// lease up.
func (f *Forwarder) Run(ctx context.Context) error {
	if len(f.c.Destinations) == 0 {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	wakes := make([]chan struct{}, len(f.c.Destinations))
	for i, d := range f.c.Destinations {
		wakes[i] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.deliverLoop(ctx, d, wakes[i])
		}()
	}
	t := time.NewTicker(f.c.Poll)
	defer t.Stop()
	// The lease is taken or renewed at once, then every third of its ttl.
	var tried time.Time
	for ctx.Err() == nil {
		if now := f.c.Now(); tried.IsZero() || now.Sub(tried) >= f.c.LeaseTTL/3 {
			tried = now
			ok, was, err := f.lease.Renew(ctx, now)
			if err != nil && ctx.Err() == nil {
				f.c.Log.Warn("forward: lease", "err", err)
			}
			if ok != was {
				f.c.Log.Info("forward: lease", "holder", ok)
			}
		}
		for _, w := range wakes {
			select {
			case w <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-f.wake:
		}
	}
	wg.Wait()
	for _, d := range f.c.Destinations {
		d.Sink.Close()
	}
	f.lease.Release(ctx)
	return nil
}

// deliverLoop drains d's queue each time it is woken while this replica leads.
func (f *Forwarder) deliverLoop(ctx context.Context, d *Destination, wake <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		for f.Leader() && ctx.Err() == nil {
			more, err := f.deliverOnce(ctx, d)
			if err != nil && ctx.Err() == nil {
				f.c.Log.Warn("forward: delivery failed", "destination", d.Name, "err", err)
			}
			if !more || err != nil {
				break
			}
		}
	}
}

// deliverOnce sends d's next batch and records the outcome; more reports that
// the batch was delivered (so the queue may hold more).
func (f *Forwarder) deliverOnce(ctx context.Context, d *Destination) (more bool, err error) {
	items, err := f.c.Store.NextOutbox(ctx, d.Name, f.c.Now(), f.c.Batch)
	if err != nil || len(items) == 0 {
		return false, err
	}
	batch := make([][]byte, len(items))
	ids := make([]int64, len(items))
	for i, it := range items {
		batch[i], ids[i] = it.Payload, it.ID
	}
	derr := d.Sink.Deliver(ctx, batch)
	if f.c.OnDelivery != nil && ctx.Err() == nil {
		f.c.OnDelivery(d.Name, len(items), derr)
	}
	// The outcome is recorded even as ctx ends: a delivered batch marked
	// delivered is not sent again after a restart.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if derr == nil {
		return true, f.c.Store.MarkDelivered(rctx, ids, f.c.Now())
	}
	if ctx.Err() != nil {
		return false, nil // stopping: not the destination's failure
	}
	attempts := items[0].Attempts + 1
	if err := f.c.Store.MarkFailed(rctx, ids, derr.Error(), f.c.Now().Add(f.c.Backoff.Wait(attempts)), f.c.MaxAttempts); err != nil {
		return false, err
	}
	if attempts >= f.c.MaxAttempts {
		f.c.Log.Error("forward: dead-lettered", "destination", d.Name, "items", len(items), "tries", attempts)
	}
	return false, derr
}

// Status returns every destination's outbox, the configured ones first.
func (f *Forwarder) Status(ctx context.Context) ([]apiv1.ForwardingStatus, error) {
	stats, err := f.c.Store.OutboxStats(ctx)
	if err != nil {
		return nil, err
	}
	now := f.c.Now()
	byName := map[string]store.OutboxStats{}
	for _, s := range stats {
		byName[s.Destination] = s
	}
	var out []apiv1.ForwardingStatus
	add := func(name string, configured bool) {
		s := byName[name]
		st := apiv1.ForwardingStatus{Destination: name, Configured: configured, Queued: s.Queued,
			Retrying: s.Retrying, Delivered: s.Delivered, Dead: s.Dead}
		if !s.OldestQueued.IsZero() {
			t := s.OldestQueued.UTC()
			st.OldestQueued, st.OldestQueuedAgeSeconds = &t, max(now.Sub(t).Seconds(), 0)
		}
		out = append(out, st)
		delete(byName, name)
	}
	for _, d := range f.c.Destinations {
		add(d.Name, true)
	}
	for _, s := range stats {
		if _, ok := byName[s.Destination]; ok {
			add(s.Destination, false)
		}
	}
	return out, nil
}
