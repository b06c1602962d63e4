package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/metrics"
)

func TestForwardingMetrics(t *testing.T) {
	m := metrics.New("v")
	oldest := time.Now().Add(-time.Minute)
	onDelivery := m.WatchForwarding(func(context.Context) ([]apiv1.ForwardingStatus, error) {
		return []apiv1.ForwardingStatus{{Destination: "https://siem.example/hook", Queued: 3, Dead: 1,
			OldestQueued: &oldest, OldestQueuedAgeSeconds: 60}}, nil
	})
	onDelivery("https://siem.example/hook", 5, nil)
	onDelivery("https://siem.example/hook", 2, errors.New("503"))
	body := scrape(t, m)
	for _, want := range []string{
		`exechunt_forward_delivered_total{destination="https://siem.example/hook"} 5`,
		`exechunt_forward_failed_total{destination="https://siem.example/hook"} 2`,
		`exechunt_forward_queued{destination="https://siem.example/hook"} 3`,
		`exechunt_forward_dead{destination="https://siem.example/hook"} 1`,
		`exechunt_forward_oldest_queued_age_seconds{destination="https://siem.example/hook"} 60`,
	} {
		if !hasLine(body, want) {
			t.Errorf("no %s in\n%s", want, grep(body, "exechunt_forward"))
		}
	}
}
