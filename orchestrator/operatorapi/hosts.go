package operatorapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

func apiHost(h store.Host, details bool) apiv1.Host {
	out := apiv1.Host{ID: h.ID, Hostname: h.Hostname, Identifier: h.Identifier, UUID: h.UUID, Platform: h.Platform,
		OSName: h.OSName, OSVersion: h.OSVersion, OsqueryVersion: h.OsqueryVersion, EnrolledAt: h.EnrolledAt,
		FirstSeen: h.FirstSeen, LastSeen: h.LastSeen}
	if details {
		out.Details = h.Details
	}
	return out
}

// parseHostFilter reads ?platform=linux,windows&seen_within=10m&id=1,2&limit=N.
func (a *API) parseHostFilter(r *http.Request) (store.HostFilter, error) {
	var f store.HostFilter
	q := r.URL.Query()
	for _, p := range splitList(q["platform"]) {
		f.Platforms = append(f.Platforms, strings.ToLower(p))
	}
	for _, s := range splitList(q["id"]) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return f, errorf(http.StatusBadRequest, "bad host id %q", s)
		}
		f.IDs = append(f.IDs, id)
	}
	if s := q.Get("seen_within"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return f, errorf(http.StatusBadRequest, "bad seen_within %q (a duration such as 10m)", s)
		}
		f.SeenSince = a.c.Now().Add(-d)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return f, errorf(http.StatusBadRequest, "bad limit %q", s)
		}
		f.Limit = n
	}
	return f, nil
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (a *API) listHosts(w http.ResponseWriter, r *http.Request) error {
	f, err := a.parseHostFilter(r)
	if err != nil {
		return err
	}
	hs, err := a.c.Hosts.ListHosts(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]apiv1.Host, 0, len(hs))
	for _, h := range hs {
		out = append(out, apiHost(h, false))
	}
	writeJSON(w, http.StatusOK, apiv1.Hosts{Hosts: out})
	return nil
}

func (a *API) getHost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	h, err := a.c.Hosts.Host(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiHost(h, true))
	return nil
}
