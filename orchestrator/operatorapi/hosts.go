package operatorapi

import (
	"math"
	"net/http"
	"strings"

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
		id, err := parseID("host id", s)
		if err != nil {
			return f, err
		}
		f.IDs = append(f.IDs, id)
	}
	var err error
	if f.SeenSince, err = a.sinceParam(r, "seen_within"); err != nil {
		return f, err
	}
	f.Limit, err = intParam(r, "limit", 0, 0, math.MaxInt)
	return f, err
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
	return reply(w, apiv1.Hosts{Hosts: each(hs, func(h store.Host) apiv1.Host { return apiHost(h, false) })}, err)
}

func (a *API) getHost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	h, err := a.c.Hosts.Host(r.Context(), id)
	return reply(w, apiHost(h, true), err)
}
