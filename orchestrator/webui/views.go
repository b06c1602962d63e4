package webui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/client"
)

// The hunts and anomalies pages read and change everything through the operator
// API with the session's token, like every other page: one path for roles,
// revocation and audit. The templates show the API's own types (apiv1).

// Triage actions of the anomaly page, and the states they set.
var triageStates = map[string]string{
	"acknowledge": apiv1.TriageAcknowledged,
	"suppress":    apiv1.TriageSuppressed, // needs a reason
	"resolve":     apiv1.TriageResolved,
	"reopen":      apiv1.TriageOpen,
}

// runTime is how long a hunt run took, or "running".
func runTime(r apiv1.HuntRun) string {
	if r.EndedAt == nil {
		return "running"
	}
	return (time.Duration(r.DurationMS) * time.Millisecond).String()
}

// notServed reports an API answer saying the route does not exist: the server
// was built without hunts or anomalies, and the page says "not available".
func notServed(err error) bool {
	var ae *client.Error
	return errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) &&
		ae.Message == "404 page not found"
}

// anomalyFilter is the API query of an anomaly filter.
func anomalyFilter(state, technique, hunt, host string, limit int) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"state": state, "technique": technique, "hunt": hunt, "host": host} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", strconv.Itoa(limit))
	return q
}
