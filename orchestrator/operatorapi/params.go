package operatorapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// Request parameters are read one way on every route: absent means the route's
// default, and a bad value is a 400 that names the parameter.

// intParam reads the optional integer query parameter name: def when absent, a
// 400 below lo, and cut to hi above it.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo {
		return 0, apiv1.Errorf(http.StatusBadRequest, "bad %s %q", name, s)
	}
	return min(n, hi), nil
}

// parseID parses a positive ID given as parameter name.
func parseID(name, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, apiv1.Errorf(http.StatusBadRequest, "bad %s %q", name, s)
	}
	return id, nil
}

// pathID is the {id} of the route's path.
func pathID(r *http.Request) (int64, error) { return parseID("id", r.PathValue("id")) }

// idParam reads the optional ID query parameter name (0 when absent).
func idParam(r *http.Request, name string) (int64, error) {
	if s := r.URL.Query().Get(name); s != "" {
		return parseID(name, s)
	}
	return 0, nil
}

// duration parses a positive Go duration given as parameter or field name.
func duration(name, s, example string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, apiv1.Errorf(http.StatusBadRequest, "bad %s %q (a duration such as %s)", name, s, example)
	}
	return d, nil
}

// sinceParam reads the optional duration query parameter name ("24h": the last
// day) as the time that long before now; zero when absent.
func (a *API) sinceParam(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	d, err := duration(name, s, "24h")
	if err != nil {
		return time.Time{}, err
	}
	return a.c.Now().Add(-d), nil
}

// each is the API form of a store list: f of every element, never nil (so an
// empty list is [] in JSON).
func each[S, T any](in []S, f func(S) T) []T {
	out := make([]T, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}
