package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestServePprof(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := servePprof(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr.String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || len(body) == 0 {
		t.Errorf("index: %d %.100s", res.StatusCode, body)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get("http://" + addr.String() + "/debug/pprof/"); err != nil {
			break // closed with ctx
		}
		if time.Now().After(deadline) {
			t.Fatal("profiler still serving after ctx ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := servePprof(context.Background(), "not-an-address", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a bad address is accepted")
	}
}
