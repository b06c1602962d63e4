package server

import (
	"context"
	"fmt"

	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/webui"
)

// uiAnomalies adapts the anomaly service to the web UI's seam.
type uiAnomalies struct{ s *anomalies.Service }

func (u uiAnomalies) Anomalies(ctx context.Context, f webui.AnomalyFilter) ([]webui.Anomaly, error) {
	list, err := u.s.Anomalies(ctx, anomalies.Filter{State: f.State, Technique: f.Technique, Hunt: f.Hunt, Host: f.Host, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]webui.Anomaly, len(list))
	for i, a := range list {
		out[i] = uiAnomaly(a)
	}
	return out, nil
}

func (u uiAnomalies) Anomaly(ctx context.Context, id int64) (webui.Anomaly, error) {
	a, err := u.s.Anomaly(ctx, id)
	if err != nil {
		return webui.Anomaly{}, err
	}
	return uiAnomaly(a), nil
}

func (u uiAnomalies) Triage(ctx context.Context, id int64, t webui.Triage) error {
	state, ok := map[string]string{
		webui.ActionAcknowledge: store.TriageAcknowledged,
		webui.ActionSuppress:    store.TriageSuppressed,
		webui.ActionResolve:     store.TriageResolved,
		webui.ActionReopen:      store.TriageOpen,
	}[t.Action]
	if !ok {
		return fmt.Errorf("unknown triage action %q", t.Action)
	}
	_, err := u.s.Triage(ctx, id, state, t.Reason, t.By)
	return err
}

func uiAnomaly(a anomalies.Anomaly) webui.Anomaly {
	hunt := ""
	if len(a.Hunts) > 0 {
		hunt = a.Hunts[0]
	}
	return webui.Anomaly{Anomaly: a.Anomaly, ID: a.ID, Hunt: hunt, State: a.State, Reason: a.Reason, Hosts: a.Hosts,
		UpdatedBy: a.By, UpdatedAt: a.At}
}
