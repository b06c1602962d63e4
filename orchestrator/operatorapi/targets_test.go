package operatorapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// TestLiveQueryTargetsAsHunts checks that a live query picks hosts as a hunt
// does (orchestrator/targeting): platform filters such as "posix", hostnames or
// host identifiers ignoring case; a host ID or hostname that names no enrolled
// host, and targets that select none, are refused.
func TestLiveQueryTargetsAsHunts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ids := map[string]int64{"h1": f.host.ID}
	for _, h := range []store.Host{
		{Identifier: "uuid-win", Hostname: "WIN-1", Platform: "windows"},
		{Identifier: "uuid-lin", Hostname: "web1", Platform: "linux"},
		{Identifier: "uuid-mac", Hostname: "mac1", Platform: "darwin"},
	} {
		got, err := f.st.EnrollHost(ctx, store.Enrollment{Host: h, NodeKeyHash: hashSecret(h.Identifier)}, f.now)
		if err != nil {
			t.Fatal(err)
		}
		ids[h.Hostname] = got.ID
	}
	for _, tc := range []struct {
		targets string
		want    []int64
	}{
		{`{"platforms":["posix"]}`, []int64{ids["web1"], ids["mac1"]}},
		{`{"platforms":["Windows"]}`, []int64{ids["WIN-1"]}},
		{`{"platforms":["linux,darwin"],"hostnames":["win-1"]}`, []int64{ids["WIN-1"], ids["web1"], ids["mac1"]}},
		{`{"hostnames":["UUID-LIN"]}`, []int64{ids["web1"]}},
		{`{"host_ids":[` + itoa(ids["h1"]) + `]}`, []int64{ids["h1"]}},
		{`{"all":true}`, []int64{ids["h1"], ids["WIN-1"], ids["web1"], ids["mac1"]}},
	} {
		rec := f.do(f.tokens["hunter"], http.MethodPost, "/api/v1/queries", `{"sql":"SELECT 1","targets":`+tc.targets+`}`, "")
		if rec.Code != http.StatusCreated {
			t.Fatalf("%s: %d %s", tc.targets, rec.Code, rec.Body)
		}
		var q struct{ ID int64 }
		json.Unmarshal(rec.Body.Bytes(), &q)
		hs, err := f.st.LiveQueryHosts(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, h := range hs {
			got = append(got, h.HostID)
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: hosts %v, want %v", tc.targets, got, tc.want)
		}
	}
	// Targets that name a host not enrolled, or select none, are refused naming
	// what matched nothing: a typo is not "nothing found".
	for _, tc := range []struct{ targets, want string }{
		{`{"host_ids":[999]}`, "unknown host id 999"},
		{`{"hostnames":["web1","no-such-host"]}`, `no enrolled host is named "no-such-host"`},
		{`{"hostnames":["nope1"],"platforms":["linux"]}`, `no enrolled host is named "nope1"`},
		{`{"platforms":["freebsd"]}`, "the targets (freebsd) select no enrolled host"},
	} {
		rec := f.do(f.tokens["hunter"], http.MethodPost, "/api/v1/queries", `{"sql":"SELECT 1","targets":`+tc.targets+`}`, "")
		var e struct{ Error string }
		json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s: %d %s, want 400 %q", tc.targets, rec.Code, rec.Body, tc.want)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
