package operatorapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// fakeAnomalies is an AnomalyService over a fixed list.
type fakeAnomalies struct {
	list  []apiv1.Anomaly
	rules []store.SuppressionRule
}

func (f *fakeAnomalies) Anomalies(_ context.Context, flt anomalies.Filter) ([]apiv1.Anomaly, error) {
	var out []apiv1.Anomaly
	for _, a := range f.list {
		if flt.State == "" || a.State == flt.State {
			out = append(out, a)
		}
	}
	return out, nil
}
func (f *fakeAnomalies) Anomaly(_ context.Context, id string) (apiv1.Anomaly, error) {
	for _, a := range f.list {
		if a.ID == id {
			return a, nil
		}
	}
	return apiv1.Anomaly{}, fmt.Errorf("%w: %s", anomalies.ErrNotFound, id)
}
func (f *fakeAnomalies) Triage(ctx context.Context, id, state, reason, by string) (apiv1.Anomaly, error) {
	for i := range f.list {
		if f.list[i].ID == id {
			f.list[i].State, f.list[i].Reason, f.list[i].By = state, reason, by
			return f.list[i], nil
		}
	}
	return apiv1.Anomaly{}, anomalies.ErrNotFound
}
func (f *fakeAnomalies) Stacks(_ context.Context, query string) ([]apiv1.Anomaly, error) {
	if query != "rarity/parent_child" {
		return nil, fmt.Errorf("%w %q", anomalies.ErrUnknownQuery, query)
	}
	return f.list, nil
}
func (f *fakeAnomalies) Queries() []string { return []string{"rarity/parent_child"} }
func (f *fakeAnomalies) AddRule(_ context.Context, r store.SuppressionRule) (store.SuppressionRule, error) {
	r.ID = 1
	f.rules = append(f.rules, r)
	return r, nil
}
func (f *fakeAnomalies) Rules(context.Context) ([]store.SuppressionRule, error) { return f.rules, nil }
func (f *fakeAnomalies) DeleteRule(context.Context, int64) error                { return nil }

func TestAnomalyRoutes(t *testing.T) {
	f := newFixture(t)
	api, err := operatorapi.New(operatorapi.Config{Hosts: f.st, Tokens: f.st, Live: f.st, Audit: f.st, Secrets: f.st,
		HashSecret: hashSecret, NodeKeys: f.st})
	if err != nil {
		t.Fatal(err)
	}
	sk := apiv1.Stack{Query: "rarity/parent_child", Key: "=winword.exe", Values: map[string]string{"parent_name": "=winword.exe"}, HostCount: 3, MaxScore: 95}
	svc := &fakeAnomalies{list: []apiv1.Anomaly{{Stack: sk, Technique: "T1059", Rare: true, Reasons: []string{"=HYPERLINK(\"http://x\")"}, ID: "k3f9x2pq7a", State: apiv1.TriageOpen}}}
	mux := http.NewServeMux()
	api.RegisterAnomalies(mux, svc)
	f.mux = mux
	viewer, hunter := f.tokens[apiv1.RoleViewer], f.tokens[apiv1.RoleHunter]

	if rec := f.do(viewer, "GET", "/api/v1/anomalies?state=open", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id": "k3f9x2pq7a"`) {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(viewer, "GET", "/api/v1/anomalies?format=jsonl", "", ""); rec.Code != 200 || strings.Count(rec.Body.String(), "\n") != 1 {
		t.Errorf("jsonl: %d %q", rec.Code, rec.Body)
	}
	if rec := f.do(viewer, "GET", "/api/v1/anomalies?format=csv", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"'=HYPERLINK(`) {
		t.Errorf("csv (formula cells neutralised): %d %s", rec.Code, rec.Body)
	}
	for path, code := range map[string]int{"/api/v1/anomalies?state=bogus": 400, "/api/v1/anomalies?format=xml": 400,
		"/api/v1/anomalies/7": 404, "/api/v1/anomalies/k3f9x2pq7a": 200, "/api/v1/stacks": 200, "/api/v1/stacks/rarity/parent_child": 200,
		"/api/v1/stacks/nope/nope": 404} {
		if rec := f.do(viewer, "GET", path, "", ""); rec.Code != code {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, code)
		}
	}
	if rec := f.do(viewer, "POST", "/api/v1/anomalies/k3f9x2pq7a/triage", `{"state":"acknowledged"}`, ""); rec.Code != 403 {
		t.Errorf("viewer triage = %d, want 403", rec.Code)
	}
	if rec := f.do(hunter, "POST", "/api/v1/anomalies/k3f9x2pq7a/triage", `{"state":"suppressed"}`, ""); rec.Code != 400 {
		t.Errorf("suppress without a reason = %d, want 400", rec.Code)
	}
	rec := f.do(hunter, "POST", "/api/v1/anomalies/k3f9x2pq7a/triage", `{"state":"suppressed","reason":"lab macro"}`, "")
	if rec.Code != 200 || svc.list[0].State != apiv1.TriageSuppressed || svc.list[0].By != apiv1.RoleHunter {
		t.Fatalf("triage: %d %s %+v", rec.Code, rec.Body, svc.list[0])
	}
	if rec := f.do(viewer, "GET", "/api/v1/stacks/nope/nope", "", ""); !strings.Contains(rec.Body.String(), `no hunt query \"nope/nope\"`) {
		t.Errorf("stacks of an unknown query: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(viewer, "POST", "/api/v1/suppressions", `{"pattern":"*","reason":"x"}`, ""); rec.Code != 403 {
		t.Errorf("viewer adds a rule = %d", rec.Code)
	}
	if rec := f.do(hunter, "POST", "/api/v1/suppressions", `{"pattern":"*name=backup.exe*"}`, ""); rec.Code != 400 {
		t.Errorf("rule without a reason = %d", rec.Code)
	}
	if rec := f.do(hunter, "POST", "/api/v1/suppressions", `{"pattern":"*name=backup.exe*","reason":"nightly backup"}`, ""); rec.Code != 201 || len(svc.rules) != 1 || svc.rules[0].By != apiv1.RoleHunter {
		t.Errorf("add rule = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(viewer, "GET", "/api/v1/suppressions", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "nightly backup") {
		t.Errorf("list rules = %d %s", rec.Code, rec.Body)
	}
	audit, err := f.st.AuditLog(context.Background(), store.AuditFilter{Action: "anomaly.triage"})
	if err != nil || len(audit) != 1 || audit[0].Target != "k3f9x2pq7a" {
		t.Errorf("audit = %+v %v", audit, err)
	}
}
