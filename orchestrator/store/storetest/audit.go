package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

func testAuditLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	add := func(actor, action, target, sql string, at time.Time, detail string) store.AuditEntry {
		t.Helper()
		e := store.AuditEntry{Time: at, Actor: actor, TokenID: 7, Role: "hunter", Remote: "192.0.2.1",
			Action: action, Target: target, SQL: sql}
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		got, err := s.AddAudit(ctx, e)
		if err != nil || got.ID == 0 {
			t.Fatalf("AddAudit: %+v, %v", got, err)
		}
		return got
	}
	a := add("alice", "live_query.create", "1", "SELECT 1", t0, `{"hosts":"all"}`)
	b := add("bob", "token.create", "3", "", t0.Add(time.Second), "")
	c := add("alice", "live_query.cancel", "1", "", t0.Add(2*time.Second), "")

	all, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("AuditLog: %d entries, %v", len(all), err)
	}
	if all[0].ID != c.ID || all[2].ID != a.ID {
		t.Errorf("order: %d %d %d, want newest first", all[0].ID, all[1].ID, all[2].ID)
	}
	got := all[2]
	if !got.Time.Equal(t0) || got.Actor != "alice" || got.TokenID != 7 || got.Role != "hunter" ||
		got.Remote != "192.0.2.1" || got.SQL != "SELECT 1" || got.Target != "1" {
		t.Errorf("entry = %+v", got)
	}
	var d map[string]string
	if err := json.Unmarshal(got.Detail, &d); err != nil || d["hosts"] != "all" {
		t.Errorf("detail = %s, %v", got.Detail, err)
	}
	if all[1].Detail != nil {
		t.Errorf("empty detail = %q", all[1].Detail)
	}
	for _, tc := range []struct {
		f    store.AuditFilter
		want []int64
	}{
		{store.AuditFilter{Actor: "alice"}, []int64{c.ID, a.ID}},
		{store.AuditFilter{Action: "token.create"}, []int64{b.ID}},
		{store.AuditFilter{Since: t0.Add(time.Second)}, []int64{c.ID, b.ID}},
		{store.AuditFilter{BeforeID: c.ID, Limit: 1}, []int64{b.ID}},
	} {
		got, err := s.AuditLog(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) || (len(ids) > 1 && ids[1] != tc.want[1]) {
			t.Errorf("%+v: %v, want %v", tc.f, ids, tc.want)
		}
	}
}
