package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// fullStore fails result writes with store.ErrFull while full is set, as a store
// on a full disk does.
type fullStore struct {
	*sqlite.Store
	full atomic.Bool
}

func (f *fullStore) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	if f.full.Load() {
		return 0, fmt.Errorf("sqlite: insert results: %w (disk I/O error)", store.ErrFull)
	}
	return f.Store.InsertResults(ctx, rows)
}

// TestReadyzSaysDiskFull: while result writes fail for lack of space /readyz is
// 503 and says "disk full" (it stayed ready); the next successful write makes it
// ready again.
func TestReadyzSaysDiskFull(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := server.SeedEnrollSecret(ctx, st, opsSecret, time.Now()); err != nil {
		t.Fatal(err)
	}
	fs := &fullStore{Store: st}
	srv, err := server.New(server.Config{Store: fs, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	_, body := do(t, "POST", hs.URL+"/api/v1/osquery/enroll", "", `{"enroll_secret":"`+opsSecret+`","host_identifier":"h1"}`)
	key := strings.Split(strings.Split(body, `"node_key":"`)[1], `"`)[0]
	postLog := func(i int) int {
		code, _ := do(t, "POST", hs.URL+"/api/v1/osquery/log", "",
			fmt.Sprintf(`{"node_key":"%s","log_type":"result","data":[{"name":"q","action":"added","unixTime":%d,"columns":{"a":"b"}}]}`, key, 1785931200+i))
		return code
	}
	if code, _ := do(t, "GET", hs.URL+"/readyz", "", ""); code != 200 {
		t.Fatalf("readyz before: %d", code)
	}
	fs.full.Store(true)
	if code := postLog(1); code == 200 {
		t.Fatalf("log accepted into a full store")
	}
	if code, body := do(t, "GET", hs.URL+"/readyz", "", ""); code != 503 || !strings.Contains(body, "disk full") {
		t.Errorf("readyz with a full disk: %d %s", code, body)
	}
	fs.full.Store(false)
	if code := postLog(2); code != 200 {
		t.Fatalf("log after space was freed: %d", code)
	}
	if code, body := do(t, "GET", hs.URL+"/readyz", "", ""); code != 200 {
		t.Errorf("readyz after a successful write: %d %s", code, body)
	}
}
