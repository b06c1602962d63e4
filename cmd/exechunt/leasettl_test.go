package main

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/forward"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// TestServeLeaseTTL checks that serve's --lease-ttl is the ttl of both leases a
// replica holds: the hunt scheduler's and the forwarder's (the default, 15s,
// would leave the forwarder's expiry further off).
func TestServeLeaseTTL(t *testing.T) {
	t.Setenv("EXECHUNT_ENROLL_SECRET", "")
	t.Setenv("EXECHUNT_ADMIN_TOKEN", "")
	const ttl = 4 * time.Second
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var errOut syncBuffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--lease-ttl", ttl.String(),
		"--forward", "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "events.jsonl"))})
	cmd.SetOut(outW)
	cmd.SetErr(&errOut)
	done := make(chan error, 1)
	go func() {
		done <- cmd.ExecuteContext(ctx)
		outW.Close()
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	sc := bufio.NewScanner(outR)
	for sc.Scan() && !strings.Contains(sc.Text(), "listening on ") {
	}
	go io.Copy(io.Discard, outR)

	st, err := sqlite.Open(ctx, filepath.Join(data, server.DBFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range []string{hunts.LeaseName, forward.LeaseName} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			l, err := st.Lease(ctx, name)
			if err == nil {
				// Renewed every ttl/3: the expiry is at most ttl ahead.
				if left := time.Until(l.Expires); left > ttl+time.Second {
					t.Errorf("lease %q expires in %v, want at most --lease-ttl %v", name, left.Round(time.Millisecond), ttl)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q lease: %v; stderr:\n%s", name, err, errOut.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
