package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokensCLI creates, lists and revokes a token with the built binary against
// exechunt serve, and checks the revoked token is refused at once.
func TestTokensCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildExechunt(t)
	data := t.TempDir()
	listen := freeAddr(t)
	startServe(t, bin, data, listen)
	env := append(os.Environ(), "EXECHUNT_CLIENT_CONFIG="+filepath.Join(data, "client.json"),
		"EXECHUNT_SERVER=", "EXECHUNT_TOKEN=", "EXECHUNT_CA_FILE=")
	run := func(extraEnv []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out) + string(ee.Stderr), err
		}
		return string(out), err
	}
	tok, err := run(nil, "tokens", "create", "--name", "analyst", "--role", "viewer", "--expires", "24h")
	if err != nil {
		t.Fatalf("create: %v %s", err, tok)
	}
	tok = strings.TrimSpace(tok)
	as := []string{"EXECHUNT_TOKEN=" + tok}
	if out, err := run(as, "hosts"); err != nil {
		t.Fatalf("hosts with the new token: %v %s", err, out)
	}
	if out, err := run(as, "tokens", "list"); err == nil || !strings.Contains(out, "403") {
		t.Errorf("a viewer listed tokens: %v %s", err, out)
	}
	out, err := run(nil, "tokens", "list")
	if err != nil || !strings.Contains(out, "analyst") || !strings.Contains(out, "viewer") || strings.Contains(out, tok) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	var id string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "analyst" {
			id = f[0]
		}
	}
	if out, err := run(nil, "tokens", "revoke", id); err != nil || !strings.Contains(out, "revoked token") {
		t.Fatalf("revoke %s: %v %s", id, err, out)
	}
	if out, err := run(as, "hosts"); err == nil || !strings.Contains(out, "401") {
		t.Errorf("hosts with the revoked token: %v %s", err, out)
	}
	if out, _ := run(nil, "tokens", "list"); !strings.Contains(out, "revoked") {
		t.Errorf("list after revoke:\n%s", out)
	}
}
