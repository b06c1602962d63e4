package operatorapi

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// AnomalyService is what the anomaly routes need (orchestrator/anomalies.Service).
type AnomalyService interface {
	Anomalies(ctx context.Context, f anomalies.Filter) ([]apiv1.Anomaly, error)
	Anomaly(ctx context.Context, id string) (apiv1.Anomaly, error)
	Triage(ctx context.Context, id, state, reason, by string) (apiv1.Anomaly, error)
	Stacks(ctx context.Context, query string) ([]apiv1.Anomaly, error)
	Queries() []string
	AddRule(ctx context.Context, r store.SuppressionRule) (store.SuppressionRule, error)
	Rules(ctx context.Context) ([]store.SuppressionRule, error)
	DeleteRule(ctx context.Context, id int64) error
}

// RegisterAnomalies adds the stacking routes:
//
//	GET  /api/v1/anomalies?state=&technique=&hunt=&host=&limit=&format=json|jsonl|csv
//	GET  /api/v1/anomalies/{id}          the short id, or the numeric id of earlier versions
//	POST /api/v1/anomalies/{id}/triage   {"state": "suppressed", "reason": "…"}
//	GET  /api/v1/stacks                  the stacked queries
//	GET  /api/v1/stacks/{query...}       a query's stacks ("pack/query"); 404 for an unknown query
//	GET  /api/v1/suppressions            suppression rules
//	POST /api/v1/suppressions            {"query": "rarity/*", "pattern": "*name=backup.exe*", "hosts": [], "reason": "…"}
//	DELETE /api/v1/suppressions/{id}
func (a *API) RegisterAnomalies(mux *http.ServeMux, svc AnomalyService) {
	h := anomalyRoutes{a: a, svc: svc}
	mux.Handle("GET /api/v1/anomalies", a.auth(apiv1.RoleViewer, h.list))
	mux.Handle("GET /api/v1/anomalies/{id}", a.auth(apiv1.RoleViewer, h.get))
	mux.Handle("POST /api/v1/anomalies/{id}/triage", a.auth(apiv1.RoleHunter, h.triage))
	mux.Handle("GET /api/v1/stacks", a.auth(apiv1.RoleViewer, h.queries))
	mux.Handle("GET /api/v1/stacks/{query...}", a.auth(apiv1.RoleViewer, h.stacks))
	mux.Handle("GET /api/v1/suppressions", a.auth(apiv1.RoleViewer, h.rules))
	mux.Handle("POST /api/v1/suppressions", a.auth(apiv1.RoleHunter, h.addRule))
	mux.Handle("DELETE /api/v1/suppressions/{id}", a.auth(apiv1.RoleHunter, h.deleteRule))
}

func apiRule(r store.SuppressionRule) apiv1.SuppressionRule {
	return apiv1.SuppressionRule{ID: r.ID, Query: r.Query, Pattern: r.Pattern, Hosts: r.Hosts, Reason: r.Reason, By: r.By,
		At: r.At.Format("2006-01-02T15:04:05Z07:00")}
}

func (h anomalyRoutes) rules(w http.ResponseWriter, r *http.Request) error {
	rules, err := h.svc.Rules(r.Context())
	return reply(w, each(rules, apiRule), err)
}

func (h anomalyRoutes) addRule(w http.ResponseWriter, r *http.Request) error {
	var body apiv1.SuppressionRule
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return apiv1.Errorf(http.StatusBadRequest, "bad suppression rule: %v", err)
	}
	if strings.TrimSpace(body.Pattern) == "" || strings.TrimSpace(body.Reason) == "" {
		return apiv1.Errorf(http.StatusBadRequest, "a suppression rule needs a pattern and a reason")
	}
	t, _ := r.Context().Value(ctxKey{}).(store.Token)
	rule, err := h.svc.AddRule(r.Context(), store.SuppressionRule{Query: body.Query, Pattern: body.Pattern, Hosts: body.Hosts,
		Reason: body.Reason, By: t.Name})
	if err != nil {
		return err
	}
	if err := h.a.audit(r, "suppression.add", strconv.FormatInt(rule.ID, 10), "", body); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiRule(rule))
	return nil
}

func (h anomalyRoutes) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.a.changeByID(r, "suppression.delete", h.svc.DeleteRule); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type anomalyRoutes struct {
	a   *API
	svc AnomalyService
}

func (h anomalyRoutes) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := anomalies.Filter{State: q.Get("state"), Technique: q.Get("technique"), Hunt: q.Get("hunt"), Host: q.Get("host")}
	var err error
	if f.Limit, err = intParam(r, "limit", 0, 0, math.MaxInt); err != nil {
		return err
	}
	if f.State != "" && !apiv1.ValidTriageState(f.State) {
		return apiv1.Errorf(http.StatusBadRequest, "bad state %q (open, acknowledged, suppressed, resolved)", f.State)
	}
	list, err := h.svc.Anomalies(r.Context(), f)
	if err != nil {
		return err
	}
	switch format := q.Get("format"); format {
	case "", "json":
		return replyList(w, list, nil)
	case "jsonl", "csv":
		w.Header().Set("Content-Type", map[string]string{"jsonl": "application/x-ndjson", "csv": "text/csv"}[format])
		apiv1.WriteAnomalies(w, format, list) // an error here is the client gone away
	default:
		return apiv1.Errorf(http.StatusBadRequest, "bad format %q (json, jsonl, csv)", format)
	}
	return nil
}

func (h anomalyRoutes) get(w http.ResponseWriter, r *http.Request) error {
	id, err := apiv1.PathAnomalyID(r)
	if err != nil {
		return err
	}
	x, err := h.svc.Anomaly(r.Context(), id)
	if errors.Is(err, anomalies.ErrNotFound) {
		return apiv1.Errorf(http.StatusNotFound, "no anomaly %q", id)
	}
	return reply(w, x, err)
}

func (h anomalyRoutes) triage(w http.ResponseWriter, r *http.Request) error {
	id, err := apiv1.PathAnomalyID(r)
	if err != nil {
		return err
	}
	var body apiv1.TriageRequest
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return apiv1.Errorf(http.StatusBadRequest, "bad triage body: %v", err)
	}
	if !apiv1.ValidTriageState(body.State) {
		return apiv1.Errorf(http.StatusBadRequest, "bad state %q (open, acknowledged, suppressed, resolved)", body.State)
	}
	if body.State == apiv1.TriageSuppressed && strings.TrimSpace(body.Reason) == "" {
		return apiv1.Errorf(http.StatusBadRequest, "suppressing needs a reason")
	}
	t, _ := r.Context().Value(ctxKey{}).(store.Token)
	x, err := h.svc.Triage(r.Context(), id, body.State, body.Reason, t.Name)
	if errors.Is(err, anomalies.ErrNotFound) {
		return apiv1.Errorf(http.StatusNotFound, "no anomaly %q", id)
	}
	if err != nil {
		return err
	}
	if err := h.a.audit(r, "anomaly.triage", x.ID, "", map[string]string{"state": body.State, "reason": body.Reason, "query": x.Query}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

func (h anomalyRoutes) queries(w http.ResponseWriter, r *http.Request) error {
	return replyList(w, h.svc.Queries(), nil)
}

func (h anomalyRoutes) stacks(w http.ResponseWriter, r *http.Request) error {
	query := r.PathValue("query")
	list, err := h.svc.Stacks(r.Context(), query)
	if errors.Is(err, anomalies.ErrUnknownQuery) {
		return apiv1.Errorf(http.StatusNotFound, "no hunt query %q: want pack/query of a loaded pack (GET /api/v1/stacks, exechunt stacks, lists the stacked ones)", query)
	}
	return replyList(w, list, err)
}
