package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// ForwardStatus reads every forwarding destination's outbox (forward.Forwarder.Status).
type ForwardStatus func(ctx context.Context) ([]apiv1.ForwardingStatus, error)

// WatchForwarding registers the forwarding metrics (docs/forwarding.md): the
// counters exechunt_forward_delivered_total and exechunt_forward_failed_total
// (items delivered, items of failed tries; by destination), fed by the
// returned func (forward.Config.OnDelivery), and the gauges
// exechunt_forward_queued, exechunt_forward_dead and
// exechunt_forward_oldest_queued_age_seconds read from the outbox when scraped.
func (m *Metrics) WatchForwarding(status ForwardStatus) func(destination string, items int, err error) {
	delivered := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "forward",
		Name: "delivered_total", Help: "Forwarded items delivered, by destination."}, []string{"destination"})
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "forward",
		Name: "failed_total", Help: "Forwarded items whose delivery try failed (each try counts), by destination."},
		[]string{"destination"})
	m.reg.MustRegister(delivered, failed, &forwardCollector{status: status,
		queued: prometheus.NewDesc(Namespace+"_forward_queued", "Items queued for a destination (retrying ones included).",
			[]string{"destination"}, nil),
		dead: prometheus.NewDesc(Namespace+"_forward_dead", "Items dead-lettered for a destination (kept until pruned).",
			[]string{"destination"}, nil),
		oldest: prometheus.NewDesc(Namespace+"_forward_oldest_queued_age_seconds",
			"Age of a destination's oldest queued item (0 when none is queued).", []string{"destination"}, nil)})
	return func(destination string, items int, err error) {
		if err != nil {
			failed.WithLabelValues(destination).Add(float64(items))
			return
		}
		delivered.WithLabelValues(destination).Add(float64(items))
	}
}

type forwardCollector struct {
	status               ForwardStatus
	queued, dead, oldest *prometheus.Desc
}

func (c *forwardCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queued
	ch <- c.dead
	ch <- c.oldest
}

func (c *forwardCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.queued, err)
		return
	}
	for _, s := range list {
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(s.Queued), s.Destination)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(s.Dead), s.Destination)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, s.OldestQueuedAgeSeconds, s.Destination)
	}
}
