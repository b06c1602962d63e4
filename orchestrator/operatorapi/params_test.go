package operatorapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

func TestParams(t *testing.T) {
	req := func(q string) *http.Request { return httptest.NewRequest("GET", "/x?"+q, nil) }
	status := func(err error) int {
		var se *apiv1.StatusError
		if errors.As(err, &se) {
			return se.Status
		}
		return 0
	}
	for _, tc := range []struct {
		q         string
		want, bad int
	}{
		{"", 50, 0}, {"limit=7", 7, 0}, {"limit=5000", 1000, 0}, {"limit=0", 0, 400}, {"limit=x", 0, 400}, {"limit=-1", 0, 400},
	} {
		n, err := intParam(req(tc.q), "limit", 50, 1, 1000)
		if n != tc.want || status(err) != tc.bad {
			t.Errorf("%q: %d %v, want %d (status %d)", tc.q, n, err, tc.want, tc.bad)
		}
	}
	if id, err := idParam(req("before=12"), "before"); id != 12 || err != nil {
		t.Errorf("before=12: %d %v", id, err)
	}
	if id, err := idParam(req(""), "before"); id != 0 || err != nil {
		t.Errorf("no before: %d %v", id, err)
	}
	if _, err := idParam(req("before=0"), "before"); status(err) != 400 || err.Error() != `bad before "0"` {
		t.Errorf("before=0: %v", err)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	a := &API{c: Config{Now: func() time.Time { return now }}}
	if since, err := a.sinceParam(req("since=24h"), "since"); err != nil || !since.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("since=24h: %v %v", since, err)
	}
	if since, err := a.sinceParam(req(""), "since"); err != nil || !since.IsZero() {
		t.Errorf("no since: %v %v", since, err)
	}
	if _, err := a.sinceParam(req("since=-1h"), "since"); status(err) != 400 {
		t.Errorf("since=-1h: %v", err)
	}
	if got := each([]int{}, func(int) string { return "" }); got == nil || len(got) != 0 {
		t.Errorf("each of nothing = %#v, want an empty, non-nil slice", got)
	}
}
