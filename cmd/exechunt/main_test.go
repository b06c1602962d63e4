package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestMain points the user's config folder at a temporary one for every test and
// every binary they start (which inherit the environment): exechunt serve writes
// a client config there, and a test must not replace the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exechunt-test-config-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("AppData", dir)
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" || runtime.GOOS == "plan9" {
		// The config folder hangs off $HOME there; keep go build's caches (tests
		// build the binary) where they were.
		home, _ := os.UserHomeDir()
		cache, _ := os.UserCacheDir()
		for k, v := range map[string]string{"GOPATH": filepath.Join(home, "go"), "GOCACHE": filepath.Join(cache, "go-build")} {
			if os.Getenv(k) == "" && v != "" {
				os.Setenv(k, v)
			}
		}
		os.Setenv("HOME", dir)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
