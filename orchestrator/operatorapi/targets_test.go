package operatorapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// TestLiveQueryTargetsAsHunts checks that a live query picks hosts as a hunt
// does (orchestrator/targeting): platform filters such as "posix", hostnames or
// host identifiers ignoring case, and a host ID that names no host refused.
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
	if rec := f.do(f.tokens["hunter"], http.MethodPost, "/api/v1/queries", `{"sql":"SELECT 1","targets":{"host_ids":[999]}}`, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown host id: %d %s, want 400", rec.Code, rec.Body)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
