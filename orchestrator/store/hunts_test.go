package store

import "testing"

func TestRunHostState(t *testing.T) {
	for _, tc := range []struct {
		pending, sent, errored, offline, answered, n, rows int
		want                                               string
	}{
		{2, 0, 0, 0, 0, 2, 0, HostPending},
		{1, 0, 0, 0, 1, 2, 3, HostSent},
		{0, 1, 0, 0, 1, 2, 3, HostSent},
		{0, 0, 1, 0, 1, 2, 3, HostError},
		{0, 0, 0, 1, 1, 2, 3, HostError}, // offline for some queries only
		{0, 0, 0, 2, 0, 2, 0, HostOffline},
		{0, 0, 0, 0, 2, 2, 3, HostOK},
		{0, 0, 0, 0, 2, 2, 0, HostNoRows},
	} {
		if got := RunHostState(tc.pending, tc.sent, tc.errored, tc.offline, tc.answered, tc.n, tc.rows); got != tc.want {
			t.Errorf("%+v: %s", tc, got)
		}
	}
	r := HuntRun{}
	r.Summarize([]HuntRunHost{{State: HostOK, Rows: 3}, {State: HostNoRows}, {State: HostError, Rows: 1}, {State: HostOffline}, {State: HostSent}})
	if r.HostsTargeted != 5 || r.HostsResponded != 2 || r.HostsErrored != 1 || r.HostsOffline != 1 || r.Rows != 4 {
		t.Errorf("summary %+v", r)
	}
}
